"""A hostile host: the demo portal with every REST_FRAMEWORK default a portal commonly sets.

axon_scim must behave exactly as under ``portal_demo.settings``: its views set
their whole DRF policy. On top of DRF, the host has its own user model (email
login, UUID keys), speaks German, keeps Berlin time, wraps each request in a
transaction and numbers its own models with 32-bit ``AutoField`` keys.
``DATABASE_URL`` selects the database, as for the main suite.
"""

from portal_demo.settings import *  # noqa: F403
from portal_demo.settings import DATABASES as DEMO_DATABASES
from portal_demo.settings import INSTALLED_APPS as DEMO_APPS

INSTALLED_APPS = [*DEMO_APPS, "rest_framework.authtoken", "tests.hostile.accounts"]
AUTH_USER_MODEL = "hostile_accounts.Account"
ROOT_URLCONF = "tests.hostile.urls"
DATABASES = {"default": {**DEMO_DATABASES["default"], "ATOMIC_REQUESTS": True}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LANGUAGE_CODE = "de"
USE_TZ = True
TIME_ZONE = "Europe/Berlin"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AXON_SCIM = {"ADAPTER": "tests.hostile.accounts.adapter.EmailAccountAdapter"}

# The REST_FRAMEWORK dict the distribution's fresh-host test reuses: keep them alike.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": "1/day", "user": "1/day"},
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.AcceptHeaderVersioning",
    "ALLOWED_VERSIONS": ["1.0", "2.0"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tests.hostile.host.JsonOnlyNegotiation",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 1,
    "DEFAULT_FILTER_BACKENDS": [
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_METADATA_CLASS": None,
    "EXCEPTION_HANDLER": "tests.hostile.host.enveloping_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,
    "COMPACT_JSON": False,
    "UNICODE_JSON": False,
    "STRICT_JSON": False,
    "DATETIME_FORMAT": "%d.%m.%Y %H:%M",
    "DATETIME_INPUT_FORMATS": ["%d.%m.%Y %H:%M"],
}

# Tests only: the default hasher spends half a second on each login.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
