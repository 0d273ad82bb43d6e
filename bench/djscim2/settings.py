"""Stock django-scim2 0.23 views on their own bench database, queries counted."""

import os

from bench.config import DJSCIM2_DB

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_scim",
    "bench.djscim2",
]
MIDDLEWARE = [
    "bench.querycount.QueryCountMiddleware",
    "django.middleware.common.CommonMiddleware",
    "bench.djscim2.auth.BearerTokenMiddleware",
]
ROOT_URLCONF = "bench.djscim2.urls"
AUTH_USER_MODEL = "bench_djscim2.User"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB_NAME", DJSCIM2_DB),
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "USER": "postgres",
        "CONN_MAX_AGE": 600,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "127.0.0.1",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "bench",
            "primary": True,
        }
    ],
    "GROUP_MODEL": "bench.djscim2.models.Group",
    "USER_FILTER_PARSER": "bench.djscim2.filters.BenchUserFilterQuery",
    "GET_EXTRA_MODEL_FILTER_KWARGS_GETTER": "bench.djscim2.auth.tenant_filter_getter",
    "GET_IS_AUTHENTICATED_PREDICATE": "bench.djscim2.auth.is_authenticated",
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_scim": {"handlers": ["console"], "level": "ERROR"}},
}
