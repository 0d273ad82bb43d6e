"""The demo portal's settings with a cache every server process shares.

Several app servers need one cache for what axon_scim keeps there (rate-limit
counters, each organization's custom attribute declarations; docs/scaling.md).
The test servers share a directory; a deployment would use Redis or Memcached.
"""

import os

from portal_demo.settings import *  # noqa: F403

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ["AXON_SHARED_CACHE_DIR"],
    }
}
