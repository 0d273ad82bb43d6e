"""axon-scim under benchmark: portal_demo's settings on the bench database, queries counted.

Also serves the floor views (``bench.floor``) from the same data under ``/floor/``.
"""

import os

from bench.config import OURS_DB
from portal_demo.settings import *  # noqa: F403
from portal_demo.settings import MIDDLEWARE

DEBUG = False
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB_NAME", OURS_DB),
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "USER": "postgres",
        # BENCH_DB_NAME comes from the orchestrator (one database per mode).
        # Persistent connections, as production runs them (all servers alike).
        "CONN_MAX_AGE": 600,
    }
}
MIDDLEWARE = ["bench.querycount.QueryCountMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "bench.urls_ours"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"axon_scim": {"handlers": ["console"], "level": "WARNING"}},
}

# S1..S12 measure the core schemas: the demo's host-declared extension would add a read
# of custom attribute rows to every user request. S2c declares its own per organization.
AXON_SCIM: dict[str, object] = {}
