"""Role permissions applied as two set operations in one statement (PostgreSQL).

``role_sync`` makes each account's guardian object permissions on its
organization follow the roles it holds. Here that is one statement whatever
the number of accounts: the permissions the accounts' roles want, the
``ManagedPermission`` rows that record what roles granted, and guardian's
rows are compared in the database, and nothing travels to Python. The rule
is the portable path's (``role_sync._sync_permissions``): a wanted permission
the account lacks is granted and recorded as the roles'; one the account
already had some other way is left alone, never recorded, never revoked; a
recorded one no longer wanted is forgotten and revoked.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from guardian.utils import get_user_obj_perms_model

from .models import ManagedPermission, Organization, Role, RoleAssignment

__all__ = ["sync_permissions"]


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: type[models.Model], name: str) -> str:
    field: Any = model._meta.get_field(name)
    return connection.ops.quote_name(field.column)


def _sql() -> str:
    granted: Any = get_user_obj_perms_model()
    through: Any = Role.permissions.through
    ra, rp, mp, g = (_table(m) for m in (RoleAssignment, through, ManagedPermission, granted))
    g_user, g_perm = _column(granted, "user"), _column(granted, "permission")
    g_type, g_obj = _column(granted, "content_type"), _column(granted, "object_pk")
    rp_role = _column(through, "role")
    rp_perm = _column(through, "permission")
    has_grant = (
        f"SELECT 1 FROM {g} g WHERE g.{g_user} = w.account_id AND g.{g_perm} = w.permission_id"
        f" AND g.{g_type} = %(type)s AND g.{g_obj} = %(object)s"
    )
    return f"""
WITH wanted AS (
    SELECT DISTINCT ra.account_id, rp.{rp_perm} AS permission_id
    FROM {ra} ra JOIN {rp} rp ON rp.{rp_role} = ra.role_id
    WHERE ra.organization_id = %(org)s AND ra.account_id = ANY(%(accounts)s)
), disowned AS (
    DELETE FROM {mp} m
    WHERE m.organization_id = %(org)s AND m.account_id = ANY(%(accounts)s)
      AND NOT EXISTS (SELECT 1 FROM wanted w
                      WHERE w.account_id = m.account_id AND w.permission_id = m.permission_id)
    RETURNING m.account_id, m.permission_id
), revoked AS (
    DELETE FROM {g} g USING disowned d
    WHERE g.{g_user} = d.account_id AND g.{g_perm} = d.permission_id
      AND g.{g_type} = %(type)s AND g.{g_obj} = %(object)s
), fresh AS (
    SELECT w.account_id, w.permission_id FROM wanted w
    WHERE NOT EXISTS (SELECT 1 FROM {mp} m WHERE m.organization_id = %(org)s
                      AND m.account_id = w.account_id AND m.permission_id = w.permission_id)
      AND NOT EXISTS ({has_grant})
), granting AS (
    INSERT INTO {g} ({g_user}, {g_perm}, {g_type}, {g_obj})
    SELECT account_id, permission_id, %(type)s, %(object)s FROM fresh
    ON CONFLICT DO NOTHING
)
INSERT INTO {mp} (organization_id, account_id, permission_id)
SELECT %(org)s, account_id, permission_id FROM fresh
ON CONFLICT DO NOTHING"""


def sync_permissions(organization: Organization, accounts: list[Any]) -> None:
    """Grant and revoke so that each of ``accounts`` holds what its roles want (one statement).

    Locks: the caller holds the accounts and the roles involved (see
    services._common). Every sub-statement reads the same snapshot, and the
    pairs revoked (not wanted) and granted (wanted) never overlap.
    """
    if not accounts:
        return
    params: dict[str, Any] = {
        "org": organization.pk,
        "accounts": list(accounts),
        "type": ContentType.objects.get_for_model(Organization).pk,
        "object": str(organization.pk),
    }
    with connection.cursor() as cursor:
        cursor.execute(_sql(), params)
