"""How roles follow groups: role assignments in, guardian permissions and audit events out.

A role assignment says why an account holds a role: a mapped SCIM group
(``group`` set) or a grant by hand (``group`` null). ``reconcile`` wraps a
change to assignments; afterwards every account that gained or lost a role
(from no source to some, or the reverse) gets the role's guardian object
permissions on the organization granted or revoked, an audit event, and
after commit a signal. An account keeps a role while any assignment, by any
group or by hand, remains, so SCIM never removes a role granted by hand.

Called only from ``services``, inside their ``audited`` transaction. The
locks taken here (accounts, then roles) are levels 3 and 4 of the lock order
in ``services._common``; a transaction reconciles once, after its group and
user locks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import F, Lookup, Q
from django.dispatch import Signal
from guardian.utils import get_user_obj_perms_model

from . import signals
from .audit import Actor, record_events
from .models import (
    ManagedPermission,
    Organization,
    Role,
    RoleAssignment,
    ScimGroup,
    ScimMembership,
    ScimUser,
)

# The primary key of an AUTH_USER_MODEL account: an int, a UUID, whatever the host's model uses.
AccountId = Any

# Rows per ``IN`` list and per bulk write, here and in the services. They live in
# this lower layer, and ``services._common`` re-exports them: were they defined
# there, this module would import the services package, which imports it.
CHUNK = 1000


def chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """Slices of ``items``, so ``IN`` lists stay under every database's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batches(items: Iterable[Any]) -> Iterator[list[Any]]:
    """``items`` in as few statements as the database allows: filter each batch with ``among``.

    PostgreSQL takes them all at once, as one array parameter, so neither the
    statements nor the parameters grow with their number; other databases
    get ``chunks``, under their parameter limit.
    """
    items = list(items)
    if connection.vendor != "postgresql":
        yield from chunks(items)
    elif items:
        yield items


_NATIVE = (int, UUID)


class AnyOf(Lookup):  # type: ignore[type-arg]
    """``lhs = ANY(%s)``, the right-hand side a list bound as one array (PostgreSQL).

    Unlike ``IN (SELECT unnest(...))``, PostgreSQL hashes the array and
    probes it per row, whatever the planner believes of the table's size.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Any, connection: Any) -> Any:
        field = self.lhs.output_field
        # Ints and UUIDs go as they are (what the field would make of them), fast for 100,000.
        prep = [i if type(i) in _NATIVE else field.get_db_prep_value(i, connection) for i in value]
        return "%s", [prep]

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def among(name: str, batch: list[Any]) -> Any:
    """A filter: the field ``name`` is one of ``batch`` (one of ``batches``)."""
    if connection.vendor == "postgresql":
        return AnyOf(F(name), batch)
    return Q(**{f"{name}__in": batch})


def batch_size() -> int | None:
    """``bulk_create``'s batch size: one statement on PostgreSQL (it binds a column, not a row)."""
    return None if connection.vendor == "postgresql" else CHUNK


def lock_accounts(accounts: Iterable[AccountId]) -> None:
    """Lock portal accounts in primary-key order (level 3 of the lock order)."""
    model = get_user_model()
    for batch in batches(sorted(set(accounts))):
        list(
            model.objects.select_for_update(no_key=True)
            .filter(among("pk", batch))
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def lock_roles(organization: Organization, roles: Iterable[int] | None = None) -> dict[int, Role]:
    """Lock roles (all of the organization's when None) in primary-key order (level 4)."""
    rows = Role.objects.for_tenant(organization).select_for_update(no_key=True).order_by("pk")
    if roles is not None:
        rows = rows.filter(pk__in=sorted(set(roles)))
    return {role.pk: role for role in rows}


def key_share(
    model: type[models.Model], organization: Organization, ids: Iterable[Any]
) -> set[Any]:
    """Which of ``ids`` are rows of ``model`` in the organization, held FOR KEY SHARE.

    For rows a change refers to without changing them: they cannot be deleted
    until the change commits, and nothing else waits. Other databases
    serialize writers, so there a plain read suffices.
    """
    wanted = sorted(set(ids))
    found: set[Any] = set()
    if connection.vendor != "postgresql":
        for chunk in chunks(wanted):
            found.update(
                model._default_manager.filter(organization=organization, pk__in=chunk).values_list(
                    "pk", flat=True
                )
            )
        return found
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE organization_id = %s AND id = ANY(%s)"
            " ORDER BY id FOR KEY SHARE",
            [organization.pk, wanted],
        )
        found.update(row[0] for row in cursor.fetchall())
    return found


def holders(organization: Organization, role: int) -> list[AccountId]:
    """The accounts that hold ``role``, by a group or by hand."""
    return sorted(
        RoleAssignment.objects.for_tenant(organization)
        .filter(role_id=role)
        .values_list("account_id", flat=True)
        .distinct()
    )


# SCIM users whose groups grant roles: ``active`` true, or unassigned (None) while the
# account is enabled. An unassigned ``active`` keeps the last explicit value, which the
# account's ``is_active`` holds (services.users), so a deactivated user stays out.
ENABLED = ~Q(active=False) & ~Q(active__isnull=True, account__is_active=False)


def accounts_of(organization: Organization, user_ids: Iterable[Any]) -> list[AccountId]:
    """The portal accounts of SCIM users among ``user_ids`` that are not deactivated.

    ``active`` is read here, so the caller holds the users' locks.
    """
    accounts: list[AccountId] = []
    for batch in batches(user_ids):
        accounts += (
            ScimUser.objects.for_tenant(organization)
            .filter(ENABLED, among("pk", batch), account__isnull=False)
            .values_list("account_id", flat=True)
        )
    return accounts


def member_accounts(group: ScimGroup, *, active_only: bool = True) -> list[AccountId]:
    """The portal accounts of the group's user members (that are not deactivated).

    ``active`` is read here, so the caller holds the members' accounts' locks.
    """
    members = ScimUser.objects.for_tenant(group.organization_id).filter(
        memberships__organization_id=group.organization_id,
        memberships__group=group,
        account__isnull=False,
    )
    if active_only:
        members = members.filter(ENABLED)
    return list(members.values_list("account_id", flat=True))


def group_accounts(group: ScimGroup) -> list[AccountId]:
    """Every account the group's mapping may concern: its members' and its assignees'."""
    rows = RoleAssignment.objects.for_tenant(group.organization_id).filter(group=group)
    assignees = rows.values_list("account_id", flat=True)
    return sorted({*member_accounts(group, active_only=False), *assignees})


def assign_group_role(
    organization: Organization, group: ScimGroup, accounts: list[AccountId]
) -> None:
    """Record that ``group`` grants its role to ``accounts`` (its role must be set)."""
    assert group.role_id is not None
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(
                organization=organization, account_id=account, role_id=group.role_id, group=group
            )
            for account in accounts
        ],
        batch_size=batch_size(),
        ignore_conflicts=True,
    )


def unassign_group(
    organization: Organization, group: ScimGroup, accounts: list[AccountId] | None = None
) -> None:
    """Forget what ``group`` grants to ``accounts`` (all its members when None)."""
    rows = RoleAssignment.objects.for_tenant(organization).filter(group=group)
    if accounts is None:
        rows.delete()
        return
    for batch in batches(accounts):
        rows.filter(among("account_id", batch)).delete()


def restore_from_groups(organization: Organization, user: ScimUser) -> list[Any]:
    """Recreate the group assignments of a reactivated user from its current memberships.

    The caller holds the user and its account, and then holds the groups
    returned (the ones the assignments refer to) FOR KEY SHARE.
    """
    assert user.account_id is not None
    mapped = list(
        ScimMembership.objects.for_tenant(organization)
        .filter(user=user, group__organization_id=organization.pk, group__role__isnull=False)
        .values_list("group_id", "group__role_id")
    )
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(
                organization=organization, account_id=user.account_id, role_id=role, group_id=group
            )
            for group, role in mapped
        ],
        ignore_conflicts=True,
    )
    return [group for group, _ in mapped]


def drop_group_assignments(organization: Organization, account: AccountId) -> None:
    """Forget every role the account holds through groups (deactivation, deletion)."""
    RoleAssignment.objects.for_tenant(organization).filter(
        account_id=account, group__isnull=False
    ).delete()


def reconcile(
    organization: Organization,
    actor: Actor,
    accounts: Iterable[AccountId | None],
    change: Callable[[], object],
    *,
    group: ScimGroup | None = None,
    refers: Iterable[int] = (),
) -> None:
    """Run ``change`` on the assignments of ``accounts``; then grant and revoke what follows.

    Locks: see services._common. The accounts are locked, in order, before
    their roles are read, so two changes to one account's assignments
    serialize and the second reads what the first committed. The roles the
    accounts hold before or after are locked before their permissions are
    read, for the accounts whose roles change (a role edit waits, or is
    waited for), with the roles the change ``refers`` to (a new mapping's).
    """
    ids = sorted({a for a in accounts if a is not None})
    lock_accounts(ids)
    before = _held_roles(organization, ids)
    change()
    after = _held_roles(organization, ids)
    changed = [a for a in ids if after[a] != before[a]]
    roles = set(refers).union(*(before[a] | after[a] for a in changed))
    if roles:
        lock_roles(organization, roles)
    if not changed:
        return
    gained = [(a, r) for a in changed for r in sorted(after[a] - before[a])]
    lost = [(a, r) for a in changed for r in sorted(before[a] - after[a])]
    _apply_permissions(organization, changed, after)
    _record(organization, actor, gained, lost, group)


def refresh_holders(organization: Organization, role: Role, accounts: list[AccountId]) -> None:
    """Re-apply permissions to ``accounts``, the holders of ``role``, after its permissions changed.

    Locks: the caller (``save_role``) holds the accounts and every role of the
    organization, in the order of services._common.
    """
    _apply_permissions(organization, accounts, _held_roles(organization, accounts))


def _held_roles(organization: Organization, accounts: list[AccountId]) -> dict[AccountId, set[int]]:
    held: dict[AccountId, set[int]] = {account: set() for account in accounts}
    for batch in batches(accounts):
        rows = (
            RoleAssignment.objects.for_tenant(organization)
            .filter(among("account_id", batch))
            .values_list("account_id", "role_id")
            .distinct()
        )
        for account, role in rows:
            held[account].add(role)
    return held


def _apply_permissions(
    organization: Organization, accounts: list[AccountId], held: dict[AccountId, set[int]]
) -> None:
    """Make each account's object permissions on the organization follow the roles it holds.

    Roles manage only the permissions they granted themselves (``ManagedPermission``
    rows): a permission the account already had, granted some other way, is
    neither taken over nor ever revoked here.
    """
    role_permissions: dict[int, set[int]] = defaultdict(set)
    through = Role.permissions.through.objects.filter(role__organization=organization)
    for role, permission in through.values_list("role_id", "permission_id"):
        role_permissions[role].add(permission)
    content_type = ContentType.objects.get_for_model(Organization)
    for batch in batches(accounts):
        wanted = {a: set().union(*(role_permissions[r] for r in held[a])) for a in batch}
        _sync_permissions(organization, content_type, wanted)


def _sync_permissions(
    organization: Organization, content_type: ContentType, wanted: dict[AccountId, set[int]]
) -> None:
    """Grant and revoke so that each account in ``wanted`` holds just its wanted permissions.

    Six statements at most, whatever the number of accounts on PostgreSQL:
    every one an index lookup by an array, an INSERT from arrays, or a DELETE
    by primary keys, so no plan depends on how large the planner believes
    the permission tables to be (they grow fast in a big role change).
    """
    model: Any = get_user_obj_perms_model()
    object_pk = str(organization.pk)
    accounts = list(wanted)
    owned: dict[AccountId, dict[int, int]] = defaultdict(dict)
    for pk, account, permission in (
        ManagedPermission.objects.for_tenant(organization)
        .filter(among("account_id", accounts))
        .values_list("pk", "account_id", "permission_id")
    ):
        owned[account][permission] = pk
    involved = set().union(*wanted.values(), *(o.keys() for o in owned.values()))
    if not involved:
        return
    existing: dict[AccountId, dict[int, int]] = defaultdict(dict)
    for pk, account, permission in model.objects.filter(
        among("user_id", accounts),
        content_type=content_type,
        object_pk=object_pk,
        permission_id__in=involved,
    ).values_list("pk", "user_id", "permission_id"):
        existing[account][permission] = pk
    grant, own, revoke, disown = [], [], [], []
    for account in accounts:
        for permission in wanted[account] - owned[account].keys():
            if permission in existing[account]:
                continue  # granted some other way: not the roles' to manage
            grant.append(
                model(
                    user_id=account,
                    permission_id=permission,
                    content_type=content_type,
                    object_pk=object_pk,
                )
            )
            own.append(
                ManagedPermission(
                    organization=organization, account_id=account, permission_id=permission
                )
            )
        for permission, pk in owned[account].items():
            if permission not in wanted[account]:
                disown.append(pk)
                if permission in existing[account]:
                    revoke.append(existing[account][permission])
    model.objects.bulk_create(grant, batch_size=batch_size(), ignore_conflicts=True)
    ManagedPermission.objects.bulk_create(own, batch_size=batch_size(), ignore_conflicts=True)
    if revoke:
        model.objects.filter(among("pk", revoke)).delete()
    if disown:
        ManagedPermission.objects.for_tenant(organization).filter(among("pk", disown)).delete()


def _record(
    organization: Organization,
    actor: Actor,
    gained: list[tuple[AccountId, int]],
    lost: list[tuple[AccountId, int]],
    group: ScimGroup | None,
) -> None:
    """One audit event per role an account gained or lost, and its signal after commit."""
    roles = dict(Role.objects.for_tenant(organization).values_list("pk", "name"))
    account_ids = sorted({a for a, _ in gained + lost})
    username_field = get_user_model().USERNAME_FIELD
    usernames: dict[AccountId, str] = {}
    for batch in batches(account_ids):
        usernames.update(
            get_user_model().objects.filter(among("pk", batch)).values_list("pk", username_field)
        )
    source = (
        {"group": str(group.pk), "groupDisplayName": group.display_name}
        if group is not None
        else {"group": None}
    )
    for action, pairs, signal in (
        ("role.granted", gained, signals.role_granted),
        ("role.revoked", lost, signals.role_revoked),
    ):
        record_events(
            organization,
            actor,
            action,
            "Role",
            (
                (role, {"role": roles.get(role), "account": usernames.get(account), **source})
                for account, role in pairs
            ),
        )
        if pairs and signal.has_listeners():
            transaction.on_commit(
                partial(_send_role_signals, signal, organization, actor, pairs, group)
            )


def _send_role_signals(
    signal: Signal,
    organization: Organization,
    actor: Actor,
    pairs: list[tuple[AccountId, int]],
    group: ScimGroup | None,
) -> None:
    roles = Role.objects.in_bulk({r for _, r in pairs})
    for account, role in pairs:
        signal.send(
            sender=Role,
            organization=organization,
            actor=actor,
            role=roles.get(role),
            account_id=account,
            group=group,
        )
