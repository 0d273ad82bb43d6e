"""A time limit on every SQL statement of a SCIM request: PostgreSQL's ``statement_timeout``.

``AXON_SCIM["STATEMENT_TIMEOUT"]`` seconds (default 10; None turns it off).
The views set it on the request's connection before its first query, so it
covers the reads that run outside a write's transaction as much as the
writes. A statement that runs longer is cancelled by the server (SQLSTATE
57014, Django's ``OperationalError``): the write's transaction rolls back
and the exception handler answers 503 with ``Retry-After``.

The setting never reaches the host's own queries on a persistent connection:

- Set outside a transaction (the usual case), it is kept on the connection
  when the request ends, so that the next SCIM request on it pays no round
  trip to set it again. Before any other statement on that connection (a
  host view's, a streamed body's), an execute wrapper resets it.
- Set inside a transaction (``ATOMIC_REQUESTS``), a rollback would undo it
  behind the connection's back: it is reset when the request ends, as it is
  when the setting changes or is turned off.

Like Django's own ``SET TIME ZONE`` and ``SET ROLE``, the statements go
through the DB-API connection, so they do not show among the request's
queries. With ``AXON_SCIM["TRANSACTION_POOLING"]`` (PgBouncer in transaction
mode) nothing is set: the timeout belongs on the database role there
(docs/scaling.md). SQLite has no statement timeout: there the setting does nothing,
and a request runs as long as it takes.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS, Error, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from .conf import scim_settings
from .models import ScimUser

__all__ = ["reset_statement_timeout", "set_statement_timeout"]

logger = logging.getLogger(__name__)

# On the DB-API connection: the statement_timeout (ms) that a SCIM request left on it.
KEPT = "axon_scim_statement_timeout"
# On Django's connection: True while a SCIM request runs on it.
IN_REQUEST = "axon_scim_in_request"
# On Django's connection: the wrapper that resets a kept timeout is installed.
GUARDED = "axon_scim_timeout_guard"
# KEPT after a reset inside a transaction, which a rollback would undo.
RESET_IN_TRANSACTION = "reset in a transaction"


def set_statement_timeout(seconds: float | None) -> list[str]:
    """Limit each statement on the connections SCIM uses; the aliases it was set on.

    Errors (a database that is down) propagate as Django's database errors,
    which the SCIM exception handler answers with 503.
    """
    if scim_settings.TRANSACTION_POOLING:
        return []  # a session-level SET would outlive the transaction on a pooled connection
    aliases = {router.db_for_read(ScimUser) or DEFAULT_DB_ALIAS}
    aliases.add(router.db_for_write(ScimUser) or DEFAULT_DB_ALIAS)
    applied: list[str] = []
    try:
        for alias in sorted(aliases):
            if _set(connections[alias], seconds):
                applied.append(alias)
    except BaseException:
        reset_statement_timeout(applied)
        raise
    return applied


def _set(connection: BaseDatabaseWrapper, seconds: float | None) -> bool:
    if connection.vendor != "postgresql":
        return False
    # What Django does before its own first cursor of a request: drop a
    # connection that a database restart killed (CONN_HEALTH_CHECKS), connect.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    if not seconds:
        if _kept(connection) is not None:
            _reset(connection)
        return False
    milliseconds = str(max(1, round(seconds * 1000)))
    if _kept(connection) != milliseconds:
        _execute(connection, "SELECT set_config('statement_timeout', %s, false)", [milliseconds])
        _keep(connection, None if _in_transaction(connection) else milliseconds)
    setattr(connection, IN_REQUEST, True)
    return True


def reset_statement_timeout(aliases: list[str]) -> None:
    """End the request's limit: kept for the next SCIM request when set outside a
    transaction (see the module's docstring), else reset now. Never raises."""
    for alias in aliases:
        connection = connections[alias]
        setattr(connection, IN_REQUEST, False)
        if connection.connection is None:
            continue
        if _kept(connection) is None:
            _reset(connection)
        elif not getattr(connection, GUARDED, False):
            # First in the list, so that the wrappers others push and pop stay theirs.
            connection.execute_wrappers.insert(0, _reset_before_other_statements)
            setattr(connection, GUARDED, True)


def _reset_before_other_statements(
    execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    connection = context["connection"]
    kept = _kept(connection)
    outside_scim = kept is not None and not getattr(connection, IN_REQUEST, False)
    # A reset made in this transaction holds until it ends; a rollback then needs another.
    if outside_scim and (kept != RESET_IN_TRANSACTION or not _in_transaction(connection)):
        _reset(connection)
    return execute(sql, params, many, context)


def _in_transaction(connection: BaseDatabaseWrapper) -> bool:
    return bool(connection.in_atomic_block or not connection.autocommit)


def _kept(connection: BaseDatabaseWrapper) -> str | None:
    return getattr(connection.connection, KEPT, None)


def _keep(connection: BaseDatabaseWrapper, milliseconds: str | None) -> None:
    # A driver whose connections take no attributes: then the timeout is set every time.
    with contextlib.suppress(AttributeError):
        setattr(connection.connection, KEPT, milliseconds)


def _execute(connection: BaseDatabaseWrapper, sql: str, params: list[str] | None = None) -> None:
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(sql, params)


def _reset(connection: BaseDatabaseWrapper) -> None:
    """Give the connection back its own ``statement_timeout``; never raises.

    A connection that is broken (killed, or in a failed transaction that will
    roll back the setting with it) is left alone. Reset inside a transaction,
    a kept setting would come back with a rollback: the next statement outside
    the transaction resets it again.
    """
    try:
        _execute(connection, "RESET statement_timeout")
    except Error:
        logger.debug("Could not reset statement_timeout on %s", connection.alias, exc_info=True)
        return
    _keep(connection, RESET_IN_TRANSACTION if _in_transaction(connection) else None)
