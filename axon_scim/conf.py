"""The ``AXON_SCIM`` settings dict: every default in one place, read through ``scim_settings``.

AXON_SCIM = {"MAX_PAGE_SIZE": 500, "ADAPTER": "myportal.scim.Adapter"}
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # The adapter class that maps SCIM users onto portal accounts (axon_scim.adapter).
    "ADAPTER": "axon_scim.adapter.AccountAdapter",
    # Page sizes of list and search responses (RFC 7644 section 3.4.2.4).
    "DEFAULT_PAGE_SIZE": 100,
    "MAX_PAGE_SIZE": 1000,
    # Seconds a cursor (RFC 9865) stays valid after the page that issued it; advertised
    # as pagination.cursorTimeout. Older cursors answer 400 expiredCursor.
    "CURSOR_TIMEOUT": 3600,
    # Requests with larger bodies answer 413 before they are parsed.
    "MAX_REQUEST_BYTES": 4 * 1024 * 1024,
    # /Bulk (RFC 7644 section 3.7), advertised in the ServiceProviderConfig: the most
    # operations one BulkRequest may carry, and the largest body it may have (it replaces
    # MAX_REQUEST_BYTES there). Over either: 413. Each operation is also held to the
    # limits of the same request sent alone (PATCH cost, members per write ...).
    "BULK_MAX_OPERATIONS": 1000,
    "BULK_MAX_PAYLOAD_BYTES": 4 * 1024 * 1024,
    # Most operations one PATCH request may carry.
    "MAX_PATCH_OPERATIONS": 1000,
    # The most work one PATCH request may ask for: the sum, over its operations, of
    # max(1, values) x max(1, terms of the path's value filter). Over it: 400 tooMany.
    # 2,500 member values take about 2.5 s on a 2-core machine with a mapped group.
    "MAX_PATCH_COST": 2_500,
    # Most members a POST or PUT of a Group may list (add more with PATCH). Over it:
    # 400 tooMany.
    "MAX_MEMBERS_PER_WRITE": 2_500,
    # Most attribute comparisons in one filter (inside brackets too). Over it: 400 tooMany.
    "MAX_FILTER_TERMS": 100,
    # Most comparisons on multi-valued attributes in one filter (``emails[...]`` counts
    # once): each is a subquery, and the database's planning time grows steeply with
    # their number. Over it: 400 tooMany.
    "MAX_FILTER_SUBQUERIES": 10,
    # PostgreSQL only: seconds any one SQL statement of a SCIM request may run
    # (``statement_timeout``); None turns it off. When it fires the request is
    # rolled back and answers 503 with Retry-After. SQLite has no such setting.
    "STATEMENT_TIMEOUT": 10,
    # PostgreSQL only: a group past 5,000 members streams its members from a cursor held
    # across transactions (axon_scim.member_stream). False sends them in one piece, as
    # PgBouncer in transaction mode needs: a held cursor lives in one server session.
    "STREAM_MEMBERS": True,
    # Seconds a 503 (statement timeout, lost database connection) asks the client to wait.
    "RETRY_AFTER": 5,
    # Most values of one multi-valued User attribute (emails, phoneNumbers ...).
    # Group members are rows of their own and have no such limit.
    "MAX_VALUES_PER_ATTRIBUTE": 100,
    # Secrets start with this, so secret scanners can recognise leaked tokens.
    "TOKEN_PREFIX": "axscim_",
    # The key of the audit chain's HMAC; None uses SECRET_KEY (and verification
    # also accepts SECRET_KEY_FALLBACKS, so the key can be rotated as Django's is).
    "AUDIT_CHAIN_KEY": None,
    # Trusted reverse proxies in front of the app: the audit log takes the
    # client address from X-Forwarded-For as the outermost of them saw it.
    "NUM_PROXIES": 0,
    # False: SCIM ``password`` values are accepted and dropped (accounts sign in
    # through SSO). True: the adapter sets the portal password from them.
    "STORE_PASSWORD": False,
    # Requests one SCIM token may make, as "600/min" (per s, min, hour or day);
    # None turns the limit off. Over it: 429 with Retry-After (axon_scim.throttling).
    "RATE_LIMIT": None,
    # The same for each signed-in portal user on the portal API.
    "PORTAL_RATE_LIMIT": None,
    # The cache (a CACHES alias) that counts requests; several processes need a shared one.
    "RATE_LIMIT_CACHE": "default",
    # True behind a pooler in transaction mode (PgBouncer): no session-level SET,
    # so STATEMENT_TIMEOUT and Bulk's asynchronous commits are left out (docs/scaling.md).
    "TRANSACTION_POOLING": False,
    # Host-declared extension schemas of Users and Groups (the format is in the README);
    # the system check axon_scim.E020 rejects a malformed declaration.
    "SCHEMA_EXTENSIONS": [],
    # Most custom attributes one organization may declare in the portal.
    "MAX_CUSTOM_ATTRIBUTES": 50,
    # Longest string value of a custom attribute, in characters.
    "MAX_CUSTOM_VALUE_LENGTH": 2048,
}

IMPORT_STRINGS = {"ADAPTER"}


class ScimSettings:
    """Attribute access to ``settings.AXON_SCIM`` with defaults; reloads when tests change it."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid axon_scim setting: {name!r}")
        if name not in self._cache:
            user = getattr(settings, "AXON_SCIM", None) or {}
            value = user.get(name, DEFAULTS[name])
            if name in IMPORT_STRINGS and isinstance(value, str):
                value = import_string(value)
            self._cache[name] = value
        return self._cache[name]

    def reload(self) -> None:
        self._cache.clear()


scim_settings = ScimSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "AXON_SCIM":
        scim_settings.reload()


setting_changed.connect(_reload)
