"""A time limit on every SQL statement of a SCIM request: PostgreSQL's ``statement_timeout``.

``AXON_SCIM["STATEMENT_TIMEOUT"]`` seconds (default 10; None turns it off).
The views set it on the request's connection before its first query and reset
it after the request, so it covers the reads that run outside a write's
transaction as much as the writes, and never outlives the request on a
persistent connection that the host's own views reuse afterwards. A statement
that runs longer is cancelled by the server (SQLSTATE 57014, Django's
``OperationalError``): the write's transaction rolls back and the exception
handler answers 503 with ``Retry-After``.

Like Django's own ``SET TIME ZONE`` and ``SET ROLE``, the two statements go
through the DB-API connection, so they cost two round trips but do not show
among the request's queries. SQLite has no statement timeout: there the
setting does nothing, and a request runs as long as it takes.
"""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, Error, connections, router

from .conf import scim_settings
from .models import ScimUser

__all__ = ["reset_statement_timeout", "set_statement_timeout"]

logger = logging.getLogger(__name__)


def set_statement_timeout(seconds: float | None) -> list[str]:
    """Limit each statement on the connections SCIM uses; the aliases it was set on.

    Errors (a database that is down) propagate as Django's database errors,
    which the SCIM exception handler answers with 503.
    """
    if not seconds or scim_settings.TRANSACTION_POOLING:
        return []  # a session-level SET would outlive the transaction on a pooled connection
    aliases = {router.db_for_read(ScimUser) or DEFAULT_DB_ALIAS}
    aliases.add(router.db_for_write(ScimUser) or DEFAULT_DB_ALIAS)
    applied = []
    for alias in sorted(aliases):
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        # What Django does before its own first cursor of a request: drop a
        # connection that a database restart killed (CONN_HEALTH_CHECKS), connect.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        with connection.wrap_database_errors, connection.connection.cursor() as cursor:
            milliseconds = str(max(1, round(seconds * 1000)))
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [milliseconds])
        applied.append(alias)
    return applied


def reset_statement_timeout(aliases: list[str]) -> None:
    """Give the connections back their own ``statement_timeout``; never raises.

    A connection that is closed or broken (killed, or in a failed transaction
    that will roll back the setting with it) is left alone.
    """
    for alias in aliases:
        connection = connections[alias]
        if connection.connection is None:
            continue
        try:
            with connection.wrap_database_errors, connection.connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
        except Error:
            logger.debug("Could not reset statement_timeout on %s", alias, exc_info=True)
