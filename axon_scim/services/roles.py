"""Roles, grants by hand and group mappings: save a role, grant or revoke it, map a group to it.

These verbs change roles, grants and mappings; ``role_sync`` then works out,
in the same transaction, who gained or lost a role and the permissions that follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from .. import role_sync
from ..audit import Actor, audited, record_event
from ..models import Organization, Role, RoleAssignment, ScimGroup
from ..protocol.errors import ConflictError, NotFoundError
from ._common import LocksMoved, lock_group, retry_locks

__all__ = ["grant_role", "revoke_role", "save_role", "set_group_role"]


def _role_of(organization: Organization, role_id: object) -> Role:
    role = (
        Role.objects.for_tenant(organization).filter(pk=role_id).first()
        if isinstance(role_id, int) and not isinstance(role_id, bool)
        else None
    )
    if role is None:
        raise NotFoundError(f'Role "{role_id}" not found.')
    return role


def set_group_role(
    organization: Organization, actor: Actor, group_id: object, role_id: int | None
) -> ScimGroup:
    """Map a group to a role (or clear it with None); every current member follows at once.

    Locks: see services._common (the group, its members' accounts, the roles).
    Setting the role the group already has changes nothing and records nothing.
    """
    with audited(organization):
        group = lock_group(organization, group_id)
        role = None if role_id is None else _role_of(organization, role_id)
        if group.role_id == (role.pk if role else None):
            return group
        old = group.role

        def change() -> None:
            # Read now, holding the members' accounts: ``active`` cannot change under us.
            members = role_sync.member_accounts(group)
            role_sync.unassign_group(organization, group)
            group.role = role
            group.save(update_fields=["role"])
            if role is not None:
                role_sync.assign_group_role(organization, group, members)

        role_sync.reconcile(
            organization,
            actor,
            role_sync.group_accounts(group),
            change,
            group=group,
            refers=[role.pk] if role else [],
        )
        summary = {"group": str(group.pk), "groupDisplayName": group.display_name}
        record_event(
            organization,
            actor,
            "mapping.set" if role else "mapping.cleared",
            "Group",
            group.pk,
            before={
                **summary,
                "role": old.name if old else None,
                "roleId": old.pk if old else None,
            },
            after={
                **summary,
                "role": role.name if role else None,
                "roleId": role.pk if role else None,
            },
        )
    return group


def grant_role(organization: Organization, actor: Actor, account: Any, role: Role) -> None:
    """Grant a role by hand; SCIM never removes it. Granting it again records nothing.

    Locks: see services._common (the account, then the roles).
    """
    role = _role_of(organization, role.pk)
    created: list[bool] = []
    with audited(organization):
        role_sync.reconcile(
            organization,
            actor,
            [account.pk],
            lambda: created.append(
                RoleAssignment.objects.get_or_create(
                    organization=organization, account=account, role=role, group=None
                )[1]
            ),
            refers=[role.pk],
        )
        if created[0]:
            record_event(
                organization,
                actor,
                "role.assigned_by_hand",
                "Role",
                role.pk,
                after={"role": role.name, "account": account.get_username()},
            )


def revoke_role(organization: Organization, actor: Actor, account: Any, role: Role) -> None:
    """Withdraw a hand grant; the account keeps the role while one of its groups grants it.

    Locks: see services._common (the account, then the roles). Withdrawing a
    grant that is not there records nothing.
    """
    role = _role_of(organization, role.pk)
    deleted: list[int] = []
    with audited(organization):
        role_sync.reconcile(
            organization,
            actor,
            [account.pk],
            lambda: deleted.append(
                RoleAssignment.objects.for_tenant(organization)
                .filter(account=account, role=role, group__isnull=True)
                .delete()[0]
            ),
        )
        if deleted[0]:
            record_event(
                organization,
                actor,
                "role.unassigned_by_hand",
                "Role",
                role.pk,
                before={"role": role.name, "account": account.get_username()},
            )


def _lock_role_and_holders(organization: Organization, pk: int) -> tuple[Role, list[int]]:
    """The role and its holders' accounts, locked in the lock order: accounts, then roles.

    Every role of the organization is locked, since a holder's permissions
    are the union of all the roles it holds.
    """
    accounts = role_sync.holders(organization, pk)
    role_sync.lock_accounts(accounts)
    roles = role_sync.lock_roles(organization)
    if pk not in roles:
        raise NotFoundError(f'Role "{pk}" not found.')
    holders = role_sync.holders(organization, pk)
    if not set(holders) <= set(accounts):  # granted meanwhile: lock that account too
        raise LocksMoved
    return roles[pk], holders


def save_role(
    organization: Organization,
    actor: Actor,
    role: Role | None,
    *,
    name: str,
    description: str = "",
    permissions: Iterable[Any] = (),
) -> Role:
    """Create a role, or change one; everyone holding it gets its new permissions at once.

    Locks: see services._common (the holders' accounts, then every role of
    the organization). Saving a role unchanged records nothing.
    """
    with audited(organization):
        before = None
        holders: list[int] = []
        if role is None:
            role = Role(organization=organization)
        else:
            pk = role.pk
            role, holders = retry_locks(lambda: _lock_role_and_holders(organization, pk))
            before = _role_summary(role)
        role.name, role.description = name, description
        try:
            with transaction.atomic():
                role.save()
        except IntegrityError:
            raise ConflictError(f'A role named "{name}" already exists.') from None
        role.permissions.set(list(permissions))
        after = _role_summary(role)
        if after == before:
            return role
        role_sync.refresh_holders(organization, role, holders)
        record_event(
            organization,
            actor,
            "role.updated" if before else "role.created",
            "Role",
            role.pk,
            before=before,
            after=after,
        )
    return role


def _role_summary(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "description": role.description,
        "permissions": sorted(role.permissions.values_list("codename", flat=True)),
    }
