"""Membership rows written as set operations that say what they changed.

Each INSERT and DELETE ends in ``RETURNING``, so a change learns the members
it really added or removed from its own writes, with no read before or
after. The ids travel as one parameter: an array on PostgreSQL, JSON on
SQLite (``json_each``). Callers hold the group's and the users' locks (see
services._common).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import connection
from django.db.models import UUIDField
from django.utils.timezone import now

from ..models import Organization, ScimGroup, ScimMembership, ScimUser

if TYPE_CHECKING:
    from .groups import Members

__all__ = ["add_rows", "keep_rows", "member_ids", "remove_rows"]

_USERS = ScimUser._meta.db_table
_MEMBERS = ScimMembership._meta.db_table
_MEMBER = "COALESCE(user_id, member_group_id)"  # a row has exactly one of them


def _id_rows(ids: Iterable[UUID]) -> tuple[str, Any]:
    """A FROM item of ``ids`` (column ``value``) and its one parameter: an array, or JSON."""
    if connection.vendor == "postgresql":
        return "unnest(%s::uuid[]) AS ids(value)", list(ids)
    return "json_each(%s) AS ids", json.dumps([pk.hex for pk in ids])


def _among(column: str, ids: Iterable[UUID]) -> tuple[str, Any]:
    """``column`` is one of ``ids``, as SQL with one parameter (indexed on PostgreSQL)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::uuid[])", list(ids)
    return f"{column} IN (SELECT value FROM json_each(%s))", json.dumps([pk.hex for pk in ids])


def _rows_changed(organization: Organization, sql: str, params: list[Any], bump: bool) -> set[UUID]:
    """Run a membership INSERT or DELETE ending in ``RETURNING member``; the members it changed.

    With ``bump`` (PostgreSQL only), the same statement gives the users among
    them a new version: their ``groups`` changed, and their rows are locked.
    """
    if bump:
        sql = (
            f"WITH changed AS ({sql}), bumped AS (UPDATE {_USERS} SET version = version + 1,"
            " last_modified = %s WHERE organization_id = %s"
            " AND id IN (SELECT member FROM changed)) SELECT member FROM changed"
        )
        params = [*params, now(), organization.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {UUID(str(member)) for (member,) in cursor.fetchall()}


def add_rows(
    organization: Organization, group: ScimGroup, members: Members, *, bump: bool = False
) -> set[UUID]:
    """Insert the rows of ``members``; returns those that were not members already."""
    added: set[UUID] = set()
    created = connection.ops.adapt_datetimefield_value(now())
    for column, ids in (("user_id", members.users), ("member_group_id", members.groups)):
        if not ids:
            continue
        rows, param = _id_rows(ids)
        sql = (  # WHERE true: SQLite's grammar needs it before ON CONFLICT
            f"INSERT INTO {_MEMBERS} (organization_id, group_id, {column}, created)"
            f" SELECT %s, %s, ids.value, %s FROM {rows}"
            f" WHERE true ON CONFLICT DO NOTHING RETURNING {_MEMBER} AS member"
        )
        params = [organization.pk, _db_id(group.pk), created, param]
        added |= _rows_changed(organization, sql, params, bump and column == "user_id")
    return added


def _delete_rows(
    organization: Organization, group: ScimGroup, condition: str, params: list[Any], bump: bool
) -> set[UUID]:
    """Delete the group's rows that meet ``condition``; returns the members they held."""
    sql = (
        f"DELETE FROM {_MEMBERS} WHERE organization_id = %s AND group_id = %s AND {condition}"
        f" RETURNING {_MEMBER} AS member"
    )
    return _rows_changed(organization, sql, [organization.pk, _db_id(group.pk), *params], bump)


def remove_rows(
    organization: Organization, group: ScimGroup, ids: list[UUID] | None, *, bump: bool = False
) -> set[UUID]:
    """Remove the members among ``ids`` (every member when None); returns those removed."""
    if ids is None:
        return _delete_rows(organization, group, "true", [], bump)
    if not ids:
        return set()
    users, user_param = _among("user_id", ids)
    groups, group_param = _among("member_group_id", ids)
    condition = f"({users} OR {groups})"
    return _delete_rows(organization, group, condition, [user_param, group_param], bump)


def keep_rows(
    organization: Organization, group: ScimGroup, ids: list[UUID], *, bump: bool = False
) -> set[UUID]:
    """Remove every member but ``ids``, in one statement; returns those removed."""
    kept, param = _among(_MEMBER, ids)
    return _delete_rows(organization, group, f"NOT {kept}", [param], bump)


def _db_id(pk: UUID) -> Any:
    return UUIDField().get_db_prep_value(pk, connection)


def member_ids(group: ScimGroup) -> set[UUID]:
    """Every member of ``group`` now."""
    rows = ScimMembership.objects.filter(organization_id=group.organization_id, group=group)
    return {u or g for u, g in rows.values_list("user_id", "member_group_id")}
