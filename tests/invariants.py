"""The invariants of DESIGN.md's "Writes" section, as assertions the concurrency tests make.

Read straight from the tables after a burst of parallel requests:

- SCIM ``active`` (when assigned) agrees with the account's ``is_active``, and
  the accounts of deleted users are disabled;
- the role assignments from groups are exactly the mapped groups' direct
  active members (grants by hand are left alone);
- the guardian permissions on the organization are exactly the union of the
  held roles' permissions (the tests grant nothing outside roles);
- each user's ``user.deactivated`` and ``user.reactivated`` events alternate
  and the last one agrees with ``active`` now (users start active);
- each account's ``role.granted`` and ``role.revoked`` events alternate per
  role and the last one agrees with whether the role is held now.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from guardian.utils import get_user_obj_perms_model

from axon_scim.models import (
    AuditEvent,
    Organization,
    Role,
    RoleAssignment,
    ScimMembership,
    ScimUser,
)


def assert_active_agrees(organization: Organization) -> None:
    """SCIM ``active`` and the account's ``is_active`` agree; retired accounts are disabled."""
    for user in ScimUser.objects.for_tenant(organization).select_related("account"):
        if user.active is not None and user.account is not None:
            assert user.account.is_active == user.active, (user.user_name, user.active)
    retired = get_user_model().objects.filter(username__startswith="deleted:", is_active=True)
    assert not retired.exists(), list(retired.values_list("username", flat=True))


def assert_roles_follow_groups(organization: Organization) -> None:
    """Group assignments are exactly the mapped groups' active direct members."""
    expected = set(
        ScimMembership.objects.for_tenant(organization)
        .filter(user__isnull=False, user__account__isnull=False, group__role__isnull=False)
        .exclude(user__active=False)
        .values_list("user__account_id", "group__role_id", "group_id")
    )
    actual = set(
        RoleAssignment.objects.for_tenant(organization)
        .filter(group__isnull=False)
        .values_list("account_id", "role_id", "group_id")
    )
    assert actual == expected, {"missing": expected - actual, "extra": actual - expected}


def assert_permissions_follow_roles(organization: Organization) -> None:
    """Each account's object permissions on the organization are those of the roles it holds."""
    role_permissions: dict[int, set[int]] = defaultdict(set)
    for role, permission in Role.permissions.through.objects.filter(
        role__organization=organization
    ).values_list("role_id", "permission_id"):
        role_permissions[role].add(permission)
    wanted: dict[int, set[int]] = defaultdict(set)
    for account, role in RoleAssignment.objects.for_tenant(organization).values_list(
        "account_id", "role_id"
    ):
        wanted[account] |= role_permissions[role]
    held: dict[int, set[int]] = defaultdict(set)
    model: Any = get_user_obj_perms_model()
    for account, permission in model.objects.filter(
        content_type=ContentType.objects.get_for_model(Organization),
        object_pk=str(organization.pk),
    ).values_list("user_id", "permission_id"):
        held[account].add(permission)
    for account in set(wanted) | set(held):
        assert held[account] == wanted[account], (account, held[account], wanted[account])


def _original_username(username: str) -> str:
    """The name an account had before ``retire_account`` prefixed it with ``deleted:<id>:``."""
    return username.split(":", 2)[2] if username.startswith("deleted:") else username


def assert_role_events_match(organization: Organization) -> None:
    """Per account and role, granted and revoked alternate, and the last one is the truth now."""
    names = dict(Role.objects.for_tenant(organization).values_list("pk", "name"))
    accounts = dict(get_user_model().objects.values_list("pk", "username"))
    holding = {
        (_original_username(accounts[account]), names[role])
        for account, role in RoleAssignment.objects.for_tenant(organization).values_list(
            "account_id", "role_id"
        )
    }
    history: dict[tuple[str, str], list[str]] = defaultdict(list)
    for action, after in (
        AuditEvent.objects.for_tenant(organization)
        .filter(action__in=("role.granted", "role.revoked"))
        .order_by("sequence")
        .values_list("action", "after")
    ):
        history[(after["account"], after["role"])].append(action)
    for key, actions in history.items():
        alternating = ["role.granted", "role.revoked"] * len(actions)
        assert actions == alternating[: len(actions)], (key, actions)
        assert (actions[-1] == "role.granted") == (key in holding), (key, actions)
    assert holding <= set(history), holding - set(history)


def assert_lifecycle_events_match(organization: Organization) -> None:
    """Per user, deactivated and reactivated alternate, and the last one is its state now."""
    history: dict[str, list[str]] = defaultdict(list)
    for action, resource_id in (
        AuditEvent.objects.for_tenant(organization)
        .filter(action__in=("user.deactivated", "user.reactivated"))
        .order_by("sequence")
        .values_list("action", "resource_id")
    ):
        history[resource_id].append(action)
    for user in ScimUser.objects.for_tenant(organization).exclude(active=None):
        actions = history.get(str(user.pk), [])
        alternating = ["user.deactivated", "user.reactivated"] * len(actions)
        assert actions == alternating[: len(actions)], (user.user_name, actions)
        last_known = actions[-1] == "user.deactivated" if actions else False
        assert last_known == (user.active is False), (user.user_name, user.active, actions)


def assert_invariants(organization: Organization) -> None:
    """Every invariant above, for one organization."""
    assert_active_agrees(organization)
    assert_lifecycle_events_match(organization)
    assert_roles_follow_groups(organization)
    assert_permissions_follow_roles(organization)
    assert_role_events_match(organization)
