"""The invariants of SCIM state that every interleaving of requests must keep, and their check.

``verify_state(organization)`` reads one organization in keyset batches
(users, groups, accounts ``BATCH`` at a time), compares sets per batch and
returns the first discrepancy it meets. ``manage.py verify_scim_state`` runs
it; the storm tests run it after their workload. The invariants, in the
order they are checked (``INVARIANTS`` states each in one sentence):

tenancy
    A membership, its group and its member belong to one organization; so
    do a group and the role it maps to, and a role assignment, its role and
    its group.
active
    A SCIM user's account is enabled exactly when the user is. ``active``
    true or false is explicit; NULL (a PATCH removed it) is unassigned and
    changes nothing, so the account keeps the last explicit value, which the
    audit log records in the ``after`` of the user's ``user.created`` and
    ``user.updated`` events (none recorded: a user is created enabled).
versions
    Versions start at 1 and never go backwards: a user's version is at least
    1 plus its ``user.updated`` events, a group's at least 1 plus its
    ``group.updated`` and ``group.replaced`` events. (Audit events do not
    carry versions. Users are also bumped by member changes of their groups,
    which are audited on the group, so these are lower bounds.)
roles
    The role assignments through groups are exactly one per (account, the
    group's role, group) for each direct user member of a mapped group whose
    user is enabled (as for ``active``); grants by hand (no group) are free.
    An account that is no SCIM user's of the organization (a deleted
    user's, say) holds no role through its groups.
deleted
    A deleted user's row is gone and its account, when kept, is disabled.
    The row leaves only its ``user.deleted`` audit event; the default
    adapter keeps the account renamed ``deleted:<user id>:<old username>``,
    which is how the check finds it. (An adapter that deletes the account
    leaves nothing to check; one that renames it otherwise is not found.)
permissions
    Roles manage only the guardian object permissions on the organization
    that they granted themselves (``ManagedPermission`` rows). For every
    account: each permission its roles imply is held, and each managed
    permission is still implied (so held too). Permissions granted some
    other way are not the roles' to check.

On PostgreSQL the check of one organization reads one REPEATABLE READ
snapshot, so it can run beside live traffic without false alarms.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import Substr
from guardian.utils import get_user_obj_perms_model

from .models import (
    AuditEvent,
    ManagedPermission,
    Organization,
    Role,
    RoleAssignment,
    ScimGroup,
    ScimMembership,
    ScimUser,
)

__all__ = ["BATCH", "INVARIANTS", "Discrepancy", "StateCheck", "verify_state"]

#: Rows read per query; also bounds every ``IN`` list (SQLite allows 32,766 parameters).
BATCH = 1000

INVARIANTS: dict[str, str] = {
    "tenancy": "memberships, mappings and role assignments never cross organizations",
    "active": "a SCIM user's account is enabled exactly when its last explicit active is true",
    "versions": "versions start at 1 and are never behind the changes the audit log records",
    "roles": "role assignments through groups are exactly the mapped groups' direct enabled "
    "members' (grants by hand aside)",
    "deleted": "a deleted user's row is gone and its kept account is disabled",
    "permissions": "the guardian permissions roles manage are exactly what the assignments imply",
}

#: How the default adapter renames the account of a deleted user (``retire_account``).
RETIRED_PREFIX = "deleted:"
USER_VERSION_ACTIONS = ("user.updated",)
GROUP_VERSION_ACTIONS = ("group.updated", "group.replaced")


@dataclass(frozen=True)
class Discrepancy:
    """One broken invariant: which one, on which resource, and what differs."""

    invariant: str
    resource: str  # "User <id>", "Group <id>", "account <pk>", "membership <pk>" ...
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.resource}: {self.detail}"


@dataclass
class StateCheck:
    """The result of checking one organization: what was read, and the first discrepancy."""

    counts: Counter[str] = field(default_factory=Counter)
    discrepancy: Discrepancy | None = None

    @property
    def ok(self) -> bool:
        return self.discrepancy is None


def verify_state(organization: Organization, *, batch_size: int = BATCH) -> StateCheck:
    """Check every invariant of ``organization``, ``batch_size`` rows a query; stop at the first
    discrepancy. Example::

        check = verify_state(Organization.objects.get(slug="acme"))
        if not check.ok:
            print(check.discrepancy)  # "active: User 3f2c...: SCIM active is false but ..."
    """
    check = StateCheck()
    with _snapshot():
        for checker in (
            _check_tenancy,
            _check_users,
            _check_groups,
            _check_deleted_users,
            _check_permissions,
        ):
            check.discrepancy = next(checker(organization, batch_size, check.counts), None)
            if check.discrepancy is not None:
                break
    return check


@contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent read of the database: REPEATABLE READ on PostgreSQL."""
    if connection.in_atomic_block:  # a caller's transaction (a test) decides
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _batches(rows: QuerySet[Any, Any], size: int, key: str = "pk") -> Iterator[list[Any]]:
    """The rows of a ``values()`` queryset holding ``key``, in key order, ``size`` at a time."""
    last: Any = None
    while True:
        page = rows.order_by(key)
        if last is not None:
            page = page.filter(**{f"{key}__gt": last})
        batch = list(page[:size])
        if batch:
            yield batch
        if len(batch) < size:
            return
        last = batch[-1][key]


Found = Iterator[Discrepancy]


# --- tenancy -----------------------------------------------------------------


#: (rows of an organization, their name in reports, a link that must stay in it, what it is)
TENANT_LINKS: list[tuple[type[Any], str, str, str]] = [
    (ScimMembership, "membership", "group", "its group"),
    (ScimMembership, "membership", "user", "its member user"),
    (ScimMembership, "membership", "member_group", "its member group"),
    (ScimGroup, "Group", "role", "the role it maps to"),
    (RoleAssignment, "assignment", "role", "its role"),
    (RoleAssignment, "assignment", "group", "its group"),
]


def _check_tenancy(organization: Organization, _size: int, _counts: Counter[str]) -> Found:
    """Join queries, one per foreign key that could point into another organization."""
    for model, kind, link, what in TENANT_LINKS:
        pk = (
            model.objects.filter(organization=organization, **{f"{link}__isnull": False})
            .exclude(**{f"{link}__organization": organization})
            .values_list("pk", flat=True)
            .first()
        )
        if pk is not None:
            yield Discrepancy("tenancy", f"{kind} {pk}", f"{what} belongs to another organization")
    # A row of another organization that joins one of our groups.
    pk = (
        ScimMembership.objects.filter(group__organization=organization)
        .exclude(organization=organization)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is not None:
        yield Discrepancy("tenancy", f"membership {pk}", "it belongs to another organization")


# --- users: active, versions, roles ------------------------------------------


def _check_users(organization: Organization, size: int, counts: Counter[str]) -> Found:
    users = ScimUser.objects.for_tenant(organization).values(
        "pk", "active", "account_id", "account__is_active", "version"
    )
    for batch in _batches(users, size):
        counts["users"] += len(batch)
        unassigned = [row["pk"] for row in batch if row["active"] is None]
        explicit = _last_explicit_active(organization, unassigned)
        enabled = {
            row["pk"]: row["active"] if row["active"] is not None else explicit.get(row["pk"], True)
            for row in batch
        }
        yield from _check_active(batch, enabled)
        yield from _check_versions(organization, "User", batch, USER_VERSION_ACTIONS)
        yield from _check_group_roles(organization, batch, enabled)


def _last_explicit_active(organization: Organization, user_ids: list[UUID]) -> dict[UUID, bool]:
    """The last ``active`` true or false that the audit log records for each user."""
    last: dict[UUID, bool] = {}
    if not user_ids:
        return last
    events = (
        AuditEvent.objects.for_tenant(organization)
        .filter(
            resource_type="User",
            resource_id__in=[str(pk) for pk in user_ids],
            action__in=("user.created", "user.updated"),
        )
        .order_by("sequence", "pk")
        .values_list("resource_id", "after")
    )
    for resource_id, after in events:
        if isinstance(after, dict) and isinstance(after.get("active"), bool):
            last[UUID(resource_id)] = after["active"]
    return last


def _check_active(batch: list[dict[str, Any]], enabled: dict[UUID, bool]) -> Found:
    for row in batch:
        if row["account_id"] is None or row["account__is_active"] == enabled[row["pk"]]:
            continue
        said = _json(row["active"])
        if row["active"] is None:
            said += f" (unassigned; last explicit value {_json(enabled[row['pk']])})"
        yield Discrepancy(
            "active",
            f"User {row['pk']}",
            f"SCIM active is {said} but account {row['account_id']} has "
            f"is_active={row['account__is_active']}",
        )


def _check_versions(
    organization: Organization,
    resource_type: str,
    batch: list[dict[str, Any]],
    actions: tuple[str, ...],
) -> Found:
    recorded = dict(
        AuditEvent.objects.for_tenant(organization)
        .filter(
            resource_type=resource_type,
            resource_id__in=[str(row["pk"]) for row in batch],
            action__in=actions,
        )
        .values_list("resource_id")
        .annotate(changes=Count("pk"))
        .order_by()
    )
    for row in batch:
        changes = recorded.get(str(row["pk"]), 0)
        if row["version"] < 1 + changes:
            yield Discrepancy(
                "versions",
                f"{resource_type} {row['pk']}",
                f"version {row['version']} is behind the {changes} {'/'.join(actions)} "
                f"events recorded for it (at least {1 + changes} expected)",
            )


def _check_group_roles(
    organization: Organization, batch: list[dict[str, Any]], enabled: dict[UUID, bool]
) -> Found:
    """Compare the batch's group assignments with its mapped memberships, as sets."""
    accounts = {row["pk"]: row["account_id"] for row in batch if row["account_id"] is not None}
    expected: set[tuple[int, int, UUID]] = set()
    mapped: dict[tuple[UUID, UUID], int] = {}  # (member, mapped group) -> the group's role
    for user_id, group_id, role_id in ScimMembership.objects.filter(
        organization=organization,
        user_id__in=list(accounts),
        group__organization=organization,
        group__role__isnull=False,
    ).values_list("user_id", "group_id", "group__role_id"):
        mapped[user_id, group_id] = role_id
        if enabled[user_id]:
            expected.add((accounts[user_id], role_id, group_id))
    actual = set(
        RoleAssignment.objects.for_tenant(organization)
        .filter(group__isnull=False, account_id__in=list(accounts.values()))
        .values_list("account_id", "role_id", "group_id")
    )
    owner = {account: user for user, account in accounts.items()}
    for account, role, group in sorted(expected - actual, key=str):
        yield Discrepancy(
            "roles",
            f"User {owner[account]}",
            f"account {account} lacks role {role}, which mapped group {group} grants its members",
        )
    for account, role, group in sorted(actual - expected, key=str):
        user = owner[account]
        if (user, group) not in mapped:
            why = f"the user is no member of group {group}, or the group maps no role"
        elif mapped[user, group] != role:
            why = f"group {group} maps role {mapped[user, group]}"
        else:
            why = "the user is deactivated"
        yield Discrepancy(
            "roles",
            f"User {user}",
            f"account {account} holds role {role} through group {group}, but {why}",
        )


def _check_orphans(organization: Organization, accounts: list[int]) -> Found:
    """Group assignments of accounts that are no SCIM user's of this organization (any more)."""
    users = set(
        ScimUser.objects.for_tenant(organization)
        .filter(account_id__in=accounts)
        .values_list("account_id", flat=True)
    )
    orphans = (
        RoleAssignment.objects.for_tenant(organization)
        .filter(group__isnull=False, account_id__in=[a for a in accounts if a not in users])
        .order_by("account_id", "pk")
        .values_list("account_id", "role_id", "group_id")
    )
    for account, role, group in orphans[:1]:
        yield Discrepancy(
            "roles",
            f"account {account}",
            f"holds role {role} through group {group}, but is no SCIM user's account here",
        )


# --- groups: versions ----------------------------------------------------------


def _check_groups(organization: Organization, size: int, counts: Counter[str]) -> Found:
    groups = ScimGroup.objects.for_tenant(organization).values("pk", "version")
    for batch in _batches(groups, size):
        counts["groups"] += len(batch)
        yield from _check_versions(organization, "Group", batch, GROUP_VERSION_ACTIONS)


# --- deleted users -------------------------------------------------------------


def _check_deleted_users(organization: Organization, size: int, counts: Counter[str]) -> Found:
    events = (
        AuditEvent.objects.for_tenant(organization)
        .filter(action="user.deleted", resource_type="User")
        .values("pk", "resource_id", "before")
    )
    for batch in _batches(events, size):
        deleted: dict[str, int] = {}
        for row in batch:
            user_id = _deleted_user_id(row["resource_id"], row["before"])
            if user_id is not None:
                deleted[user_id] = row["pk"]
        counts["deleted"] += len(deleted)
        survivors = ScimUser.objects.for_tenant(organization).filter(pk__in=list(deleted))
        for pk in survivors.values_list("pk", flat=True)[:1]:
            yield Discrepancy(
                "deleted",
                f"User {pk}",
                f"audit event {deleted[str(pk)]} records its deletion, but its row still exists",
            )
        retired = (
            get_user_model()
            .objects.filter(username__startswith=RETIRED_PREFIX, is_active=True)
            .annotate(deleted_user=Substr("username", len(RETIRED_PREFIX) + 1, 36))
            .filter(deleted_user__in=list(deleted))
            .values_list("pk", "deleted_user")
        )
        for account, user_id in retired[:1]:
            yield Discrepancy(
                "deleted",
                f"User {user_id}",
                f"deleted (audit event {deleted[user_id]}), but its account {account} is active",
            )


def _deleted_user_id(resource_id: str, before: Any) -> str | None:
    """The canonical id of a deleted user: its snapshot's ``id``, else the event's resource id."""
    candidates = [before.get("id")] if isinstance(before, dict) else []
    for candidate in [*candidates, resource_id]:
        try:
            return str(UUID(str(candidate)))
        except ValueError:
            continue
    return None


# --- permissions -----------------------------------------------------------------


def _check_permissions(organization: Organization, size: int, counts: Counter[str]) -> Found:
    """Mirror of role sync: the held roles' permissions are held; managed ones are among them."""
    implied: dict[int, set[int]] = defaultdict(set)
    through: Any = Role.permissions.through
    for role, permission in through.objects.filter(role__organization=organization).values_list(
        "role_id", "permission_id"
    ):
        implied[role].add(permission)
    permission_model: Any = get_user_obj_perms_model()
    grants = permission_model.objects.filter(
        content_type=ContentType.objects.get_for_model(Organization),
        object_pk=str(organization.pk),
    )
    for accounts in _account_batches(organization, size):
        counts["accounts"] += len(accounts)
        yield from _check_orphans(organization, accounts)
        held = _grouped(
            RoleAssignment.objects.for_tenant(organization)
            .filter(account_id__in=accounts)
            .values_list("account_id", "role_id")
        )
        managed = _grouped(
            ManagedPermission.objects.for_tenant(organization)
            .filter(account_id__in=accounts)
            .values_list("account_id", "permission_id")
        )
        granted = _grouped(
            grants.filter(user_id__in=accounts).values_list("user_id", "permission_id")
        )
        for account in accounts:
            wanted = set().union(*(implied[role] for role in held[account]))
            problems = [
                (wanted - granted[account], "its roles imply {}, which it does not hold"),
                (managed[account] - wanted, "holds {} through roles, but no role it holds implies"),
            ]
            for permissions, text in problems:
                if permissions:
                    yield Discrepancy(
                        "permissions", f"account {account}", text.format(_names(permissions))
                    )


def _account_batches(organization: Organization, size: int) -> Iterator[list[int]]:
    """Accounts with a role assignment or a managed permission here, in id order, keyset-paged.

    Each source yields its next ``size`` ids; the smallest ``size`` of their
    union are complete up to the last one, since neither source skipped any.
    """
    sources: list[Any] = [
        RoleAssignment.objects.for_tenant(organization).values_list("account_id", flat=True),
        ManagedPermission.objects.for_tenant(organization).values_list("account_id", flat=True),
    ]
    last = 0
    while True:
        ids: set[int] = set()
        for source in sources:
            ids.update(source.filter(account_id__gt=last).order_by("account_id").distinct()[:size])
        if not ids:
            return
        batch = sorted(ids)[:size]
        yield batch
        last = batch[-1]


def _grouped(pairs: Iterable[tuple[Any, Any]]) -> defaultdict[Any, set[Any]]:
    grouped: defaultdict[Any, set[Any]] = defaultdict(set)
    for key, value in pairs:
        grouped[key].add(value)
    return grouped


def _names(permission_ids: set[int]) -> str:
    rows = Permission.objects.filter(pk__in=permission_ids).values_list(
        "content_type__app_label", "codename"
    )
    return ", ".join(sorted(f"{app}.{codename}" for app, codename in rows))


def _json(value: bool | None) -> str:
    return {True: "true", False: "false", None: "null"}[value]
