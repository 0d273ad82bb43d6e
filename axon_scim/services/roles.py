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
from ._common import lock_group

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
    """Map a group to a role (or clear it with None); every current member follows at once."""
    with audited(organization):
        group = lock_group(organization, group_id)
        role = None if role_id is None else _role_of(organization, role_id)
        if group.role_id == (role.pk if role else None):
            return group
        old = group.role
        accounts = role_sync.member_accounts(group)

        def change() -> None:
            role_sync.unassign_group(organization, group)
            group.role = role
            group.save(update_fields=["role"])
            if role is not None:
                role_sync.assign_group_role(organization, group, accounts)

        role_sync.reconcile(organization, actor, accounts, change, group=group)
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
    """Grant a role by hand; SCIM never removes it."""
    role = _role_of(organization, role.pk)
    with audited(organization):
        role_sync.reconcile(
            organization,
            actor,
            [account.pk],
            lambda: RoleAssignment.objects.get_or_create(
                organization=organization, account=account, role=role, group=None
            ),
        )
        record_event(
            organization,
            actor,
            "role.assigned_by_hand",
            "Role",
            role.pk,
            after={"role": role.name, "account": account.get_username()},
        )


def revoke_role(organization: Organization, actor: Actor, account: Any, role: Role) -> None:
    """Withdraw a hand grant; the account keeps the role while one of its groups grants it."""
    role = _role_of(organization, role.pk)
    with audited(organization):
        role_sync.reconcile(
            organization,
            actor,
            [account.pk],
            lambda: (
                RoleAssignment.objects.for_tenant(organization)
                .filter(account=account, role=role, group__isnull=True)
                .delete()
            ),
        )
        record_event(
            organization,
            actor,
            "role.unassigned_by_hand",
            "Role",
            role.pk,
            before={"role": role.name, "account": account.get_username()},
        )


def save_role(
    organization: Organization,
    actor: Actor,
    role: Role | None,
    *,
    name: str,
    description: str = "",
    permissions: Iterable[Any] = (),
) -> Role:
    """Create a role, or change one; everyone holding it gets its new permissions at once."""
    with audited(organization):
        before = None
        if role is None:
            role = Role(organization=organization)
        else:
            role = Role.objects.for_tenant(organization).select_for_update().get(pk=role.pk)
            before = _role_summary(role)
        role.name, role.description = name, description
        try:
            with transaction.atomic():
                role.save()
        except IntegrityError:
            raise ConflictError(f'A role named "{name}" already exists.') from None
        role.permissions.set(list(permissions))
        role_sync.refresh_holders(organization, role)
        record_event(
            organization,
            actor,
            "role.updated" if before else "role.created",
            "Role",
            role.pk,
            before=before,
            after=_role_summary(role),
        )
    return role


def _role_summary(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "description": role.description,
        "permissions": sorted(role.permissions.values_list("codename", flat=True)),
    }
