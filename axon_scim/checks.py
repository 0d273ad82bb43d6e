"""System checks of axon_scim: configuration mistakes fail loudly at start-up."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import Error, Warning, register

from .adapter import AccountAdapter
from .conf import DEFAULTS, scim_settings
from .throttling import parse_rate


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Required apps, the guardian backend and the ``AXON_SCIM`` values."""
    errors: list[Error] = []
    for app, eid in (("rest_framework", "E001"), ("guardian", "E002")):
        if not apps.is_installed(app):
            errors.append(
                Error(f"axon_scim needs '{app}' in INSTALLED_APPS.", id=f"axon_scim.{eid}")
            )
    backends = getattr(settings, "AUTHENTICATION_BACKENDS", ())
    if "guardian.backends.ObjectPermissionBackend" not in backends:
        errors.append(
            Error(
                "axon_scim checks sso:configure through django-guardian object permissions.",
                hint="Add 'guardian.backends.ObjectPermissionBackend' to AUTHENTICATION_BACKENDS.",
                id="axon_scim.E003",
            )
        )
    user = getattr(settings, "AXON_SCIM", {})
    if not isinstance(user, dict):
        return [*errors, Error("AXON_SCIM must be a dict.", id="axon_scim.E004")]
    for name in sorted(set(user) - set(DEFAULTS)):
        errors.append(
            Error(
                f"AXON_SCIM has an unknown key {name!r}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="axon_scim.E005",
            )
        )
    errors += _limit_errors(user)
    try:
        from .conf import scim_settings

        scim_settings.ADAPTER  # noqa: B018  (imports the adapter class)
    except ImportError as exc:
        errors.append(Error(f"AXON_SCIM['ADAPTER'] cannot be imported: {exc}", id="axon_scim.E007"))
    return errors


@register()
def check_rate_limits(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """``RATE_LIMIT`` and ``PORTAL_RATE_LIMIT`` are None or rates; their cache exists."""
    user = getattr(settings, "AXON_SCIM", None)
    if not isinstance(user, dict):
        return []  # reported by check_settings
    errors: list[Error] = []
    for name in ("RATE_LIMIT", "PORTAL_RATE_LIMIT"):
        rate = user.get(name)
        try:
            if rate is not None:
                parse_rate(rate)
        except (TypeError, ValueError, AttributeError):
            errors.append(
                Error(
                    f"AXON_SCIM[{name!r}] must be None or a rate such as '600/min'.",
                    hint="A count, a slash and a period: s, min, hour or day.",
                    id="axon_scim.E008",
                )
            )
    alias = user.get("RATE_LIMIT_CACHE", DEFAULTS["RATE_LIMIT_CACHE"])
    if alias not in getattr(settings, "CACHES", {"default": {}}):
        errors.append(
            Error(
                f"AXON_SCIM['RATE_LIMIT_CACHE'] names {alias!r}, which is not in CACHES.",
                id="axon_scim.E009",
            )
        )
    return errors


POSITIVE_INTEGERS = (
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "CURSOR_TIMEOUT",
    "MAX_REQUEST_BYTES",
    "MAX_PATCH_OPERATIONS",
    "MAX_PATCH_COST",
    "MAX_MEMBERS_PER_WRITE",
    "MAX_FILTER_TERMS",
    "MAX_FILTER_SUBQUERIES",
    "MAX_CUSTOM_ATTRIBUTES",
    "MAX_CUSTOM_VALUE_LENGTH",
    "MAX_VALUES_PER_ATTRIBUTE",
    "RETRY_AFTER",
    "BULK_MAX_OPERATIONS",
    "BULK_MAX_PAYLOAD_BYTES",
)


def _limit_errors(user: dict[str, Any]) -> list[Error]:
    """The limits: positive integers, and a statement timeout in seconds (or None)."""
    errors = []
    for name in POSITIVE_INTEGERS:
        value = user.get(name, DEFAULTS[name])
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(
                Error(f"AXON_SCIM[{name!r}] must be a positive integer.", id="axon_scim.E006")
            )
    timeout = user.get("STATEMENT_TIMEOUT", DEFAULTS["STATEMENT_TIMEOUT"])
    if timeout is not None and (
        not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0
    ):
        errors.append(
            Error(
                "AXON_SCIM['STATEMENT_TIMEOUT'] must be a positive number of seconds, or None.",
                id="axon_scim.E010",
            )
        )
    return errors


@register()
def check_adapter_fields(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """The default adapter's account fields exist on ``AUTH_USER_MODEL``."""
    try:
        adapter = scim_settings.ADAPTER
    except ImportError:
        return []  # reported by check_settings
    if getattr(adapter, "account_fields", None) is not AccountAdapter.account_fields:
        return []
    user_model = get_user_model()
    names = {field.name for field in user_model._meta.get_fields()}
    missing = [name for name in ("first_name", "last_name", "email") if name not in names]
    if not missing:
        return []
    return [
        Warning(
            f"The SCIM adapter fills {', '.join(missing)}, which {user_model._meta.label} lacks.",
            hint="Subclass axon_scim.adapter.AccountAdapter, override account_fields "
            "(and account_username) and point AXON_SCIM['ADAPTER'] at it.",
            id="axon_scim.W001",
        )
    ]


@register()
def check_connection_health(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Persistent connections without CONN_HEALTH_CHECKS fail a request after a database restart."""
    found = []
    for alias, database in settings.DATABASES.items():
        if database.get("CONN_MAX_AGE") and not database.get("CONN_HEALTH_CHECKS"):
            found.append(
                Warning(
                    f"DATABASES[{alias!r}] keeps connections (CONN_MAX_AGE) without"
                    " CONN_HEALTH_CHECKS: after a database restart, the first SCIM request"
                    " on each kept connection answers 503.",
                    hint=f"Set DATABASES[{alias!r}]['CONN_HEALTH_CHECKS'] = True.",
                    id="axon_scim.W002",
                )
            )
    return found


@register()
def check_schema_extensions(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """``AXON_SCIM["SCHEMA_EXTENSIONS"]``: every declaration well formed (see the README)."""
    from .extensions import declaration_errors  # reads models: only once the apps are ready

    return [
        Error(f"AXON_SCIM: {message}", id="axon_scim.E020")
        for message in declaration_errors(scim_settings.SCHEMA_EXTENSIONS)
    ]
