"""A SCIM user's portal account: created, kept in line, deactivated and reactivated.

A user whose ``active`` turns false is deactivated at once (account disabled,
roles from groups withdrawn); turning it true again restores the roles its
groups give. Locks: see services._common; callers hold the user.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from .. import role_sync, signals
from ..adapter import get_adapter
from ..audit import Actor, record_event
from ..models import Organization, ScimGroup, ScimUser
from ..rendering import UserChanges, primary_email
from ._common import after_commit, key_share

__all__ = [
    "apply_custom",
    "create_account",
    "deactivate",
    "enabled",
    "reactivate",
    "sync_account",
]


def sync_account(user: ScimUser, changes: UserChanges, custom: dict[str, Any]) -> None:
    """Bring the user's portal account in line, creating it if the user has none yet.

    ``custom`` holds the user's custom attributes by schema URN, for the
    adapter's ``apply_extension_values`` (called only when there are any).
    """
    adapter = get_adapter()
    email = primary_email(changes.values)
    if user.account_id is None:
        user.account = adapter.create_account(user, primary_email=email, password=changes.password)
        user.save(update_fields=["account"])
    else:
        adapter.update_account(user.account, user, primary_email=email, password=changes.password)
    apply_custom(user, custom)


def apply_custom(user: ScimUser, custom: dict[str, Any]) -> None:
    """Hand the custom attributes to the adapter (only when there are any)."""
    if custom and user.account is not None:
        get_adapter().apply_extension_values(user.account, user, custom)


def create_account(user: ScimUser, changes: UserChanges) -> None:
    """The new user's portal account, created before the user's row, which then refers to it."""
    user.user_name_lower = user.user_name.lower()  # as save() would set it: the adapter reads it
    email = primary_email(changes.values)
    user.account = get_adapter().create_account(
        user, primary_email=email, password=changes.password
    )


def enabled(user: ScimUser, was_active: bool | None) -> bool:
    """Whether the user could sign in before this change: its account's state, read locked.

    An unassigned ``active`` (None) changes nothing: access follows the last
    explicit true or false, which the account's state holds (``was_active``
    stands in for a user without an account).
    """
    return user.account.is_active if user.account is not None else was_active is not False


def deactivate(
    organization: Organization, actor: Actor, user: ScimUser, *, deleted: bool = False
) -> None:
    """Disable the account at once and take away the roles its groups gave it.

    Locks: the caller holds the user and its account (see services._common).
    """
    if user.account is not None:
        account_id = user.account.pk
        role_sync.reconcile(
            organization,
            actor,
            [account_id],
            lambda: role_sync.drop_group_assignments(organization, account_id),
        )
        adapter = get_adapter()
        if deleted:
            adapter.retire_account(user.account, user)
        else:
            adapter.deactivate_account(user.account)
    if not deleted:
        record_event(organization, actor, "user.deactivated", "User", user.pk)
    after_commit(
        signals.user_deprovisioned,
        ScimUser,
        organization,
        actor,
        scim_user=user,
        account=user.account,
        deleted=deleted,
    )


def reactivate(organization: Organization, actor: Actor, user: ScimUser) -> None:
    """Restore the roles of a reactivated user from its current groups.

    Locks: the caller holds the user and its account (see services._common),
    so its memberships and its groups' mappings are read as committed; the
    groups are then held FOR KEY SHARE, last.
    """
    if user.account is not None:
        sources: list[UUID] = []
        role_sync.reconcile(
            organization,
            actor,
            [user.account_id],
            lambda: sources.extend(role_sync.restore_from_groups(organization, user)),
        )
        key_share(ScimGroup, organization, sources)  # references last: see services._common
    record_event(organization, actor, "user.reactivated", "User", user.pk)
    after_commit(
        signals.user_reactivated,
        ScimUser,
        organization,
        actor,
        scim_user=user,
        account=user.account,
    )
