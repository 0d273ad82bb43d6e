"""The fixed-shape queries of every SCIM read, written once as SQL instead of built per request.

Django's ORM spends longer building these queries than PostgreSQL spends
answering them: about 0.5 ms to compile a user's value rows against 0.1 ms
to fetch them, on every request. Their shape never changes, so they are
plain SQL here, each one constrained by ``organization_id`` (a single-shard
query under Citus). They feed rendering only: the services, which write,
read model instances through the ORM.

- ``user_values`` and ``user_groups``: what a page of users needs besides
  its own rows (``UserContext.read``);
- ``token_by_hash``: the bearer token and its organization, and
  ``group_by_id``: one group of an organization, on PostgreSQL (elsewhere
  the ORM query, whose converters SQLite's dates need).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from .models import (
    Organization,
    ScimGroup,
    ScimMembership,
    ScimToken,
    ScimUser,
    ScimUserValue,
)

__all__ = ["ValueRow", "group_by_id", "token_by_hash", "user_groups", "user_values"]


class ValueRow(NamedTuple):
    """One multi-valued attribute item, as the renderer reads a ``ScimUserValue``."""

    attribute: str
    value: str
    type: str
    display: str
    primary: bool | None
    extra: dict[str, Any]


def _connection(model: type[Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_read(model) or DEFAULT_DB_ALIAS]


def _table(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _uuid(value: Any) -> UUID:
    # PostgreSQL answers UUIDs; SQLite stores them as 32 hex characters.
    return value if isinstance(value, UUID) else UUID(value)


def _in(connection: BaseDatabaseWrapper, ids: Sequence[UUID]) -> tuple[str, list[Any]]:
    field = ScimUser._meta.pk
    assert field is not None
    params = [field.get_db_prep_value(pk, connection) for pk in ids]
    return ", ".join(["%s"] * len(ids)), params


def user_values(organization_id: int, ids: Sequence[UUID]) -> dict[UUID, list[ValueRow]]:
    """The value rows of the users ``ids``, by user, in attribute and position order."""
    connection = _connection(ScimUserValue)
    marks, params = _in(connection, ids)
    sql = (
        'SELECT user_id, attribute, value, type, display, "primary", extra'
        f" FROM {_table(connection, ScimUserValue)}"
        f" WHERE organization_id = %s AND user_id IN ({marks})"
        " ORDER BY user_id, attribute, position"
    )
    found: dict[UUID, list[ValueRow]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, *params])
        for user_id, attribute, value, kind, display, primary, extra in cursor.fetchall():
            if isinstance(extra, str):
                extra = json.loads(extra)
            found[_uuid(user_id)].append(
                ValueRow(
                    attribute,
                    value,
                    kind,
                    display,
                    None if primary is None else bool(primary),
                    extra or {},
                )
            )
    return dict(found)


def user_groups(organization_id: int, ids: Sequence[UUID]) -> dict[UUID, list[tuple[UUID, str]]]:
    """The groups the users ``ids`` are direct members of, ``(id, displayName)``, by name."""
    connection = _connection(ScimMembership)
    marks, params = _in(connection, ids)
    sql = (
        "SELECT m.user_id, m.group_id, g.display_name"
        f" FROM {_table(connection, ScimMembership)} m"
        f" JOIN {_table(connection, ScimGroup)} g"
        " ON g.id = m.group_id AND g.organization_id = m.organization_id"
        f" WHERE m.organization_id = %s AND m.user_id IN ({marks})"
        " ORDER BY g.display_name_lower"
    )
    found: dict[UUID, list[tuple[UUID, str]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, *params])
        for user_id, group_id, display in cursor.fetchall():
            found[_uuid(user_id)].append((_uuid(group_id), display))
    return dict(found)


def _columns(
    connection: BaseDatabaseWrapper, model: type[Model], alias: str
) -> tuple[list[str], str]:
    return _quoted_columns(connection.alias, model, alias)


@cache
def _quoted_columns(database: str, model: type[Model], alias: str) -> tuple[list[str], str]:
    """The model's attribute names and its quoted columns; once per database and model."""
    fields = model._meta.concrete_fields
    quote = connections[database].ops.quote_name
    columns = ", ".join(f"{alias}.{quote(str(f.column))}" for f in fields)
    return [f.attname for f in fields], columns


def token_by_hash(digest: str) -> ScimToken | None:
    """The token whose secret hashes to ``digest``, its organization loaded, or None."""
    connection = _connection(ScimToken)
    if connection.vendor != "postgresql":
        lookup = ScimToken.objects.select_related("organization").filter(secret_hash=digest)
        # The hash is unique: a plain lookup, without the model's default ORDER BY.
        return next(iter(lookup.order_by()), None)
    token_names, token_sql = _columns(connection, ScimToken, "t")
    org_names, org_sql = _columns(connection, Organization, "o")
    sql = (
        f"SELECT {token_sql}, {org_sql} FROM {_table(connection, ScimToken)} t"
        f" JOIN {_table(connection, Organization)} o ON o.id = t.organization_id"
        " WHERE t.secret_hash = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(token_names)
    token = ScimToken.from_db(connection.alias, token_names, row[:split])
    organization = Organization.from_db(connection.alias, org_names, row[split:])
    # As select_related leaves it: reading token.organization runs no query.
    ScimToken.organization.field.set_cached_value(token, organization)
    return token


def group_by_id(organization_id: int, pk: UUID) -> ScimGroup | None:
    """The group ``pk`` of the organization, or None: ``for_tenant``'s scope, in plain SQL."""
    connection = _connection(ScimGroup)
    if connection.vendor != "postgresql":
        return ScimGroup.objects.for_tenant(organization_id).filter(pk=pk).order_by().first()
    names, columns = _columns(connection, ScimGroup, "g")
    sql = (
        f"SELECT {columns} FROM {_table(connection, ScimGroup)} g"
        " WHERE g.organization_id = %s AND g.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, pk])
        row = cursor.fetchone()
    return None if row is None else ScimGroup.from_db(connection.alias, names, row)
