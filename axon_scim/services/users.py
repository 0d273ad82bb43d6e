"""SCIM users: create, replace, patch and delete one, with its portal account alongside.

A user whose ``active`` turns false is deactivated at once (account disabled,
roles from groups withdrawn); turning it true again reactivates it. Its
``manager`` must be another user of the same organization.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError
from django.utils.timezone import now

from .. import role_sync, signals
from ..adapter import get_adapter
from ..audit import Actor, audited, record_event
from ..conf import scim_settings
from ..models import Organization, ScimGroup, ScimUser, ScimUserValue
from ..protocol.constants import ENTERPRISE_USER_SCHEMA
from ..protocol.errors import InvalidValueError
from ..protocol.etag import check_if_match, make_etag
from ..protocol.patch import PatchOperation, apply_patch
from ..protocol.schemas import USER_RESOURCE
from ..serializers import (
    ENTERPRISE_COLUMNS,
    NAME_COLUMNS,
    USER_COLUMNS,
    UserChanges,
    UserContext,
    UserSerializer,
    primary_email,
    user_changes,
)
from ._common import after_commit, check_lengths, lock_user, parse_id, user_name_conflict
from .groups import touch_group

__all__ = ["create_user", "delete_user", "patch_user", "replace_user"]


# Model field -> SCIM attribute, for errors that name what the client sent.
USER_LABELS: dict[str, str] = {
    **{column: name for name, column in USER_COLUMNS.items()},
    **{column: f"name.{name}" for name, column in NAME_COLUMNS.items()},
    **{column: f"{ENTERPRISE_USER_SCHEMA}:{name}" for name, column in ENTERPRISE_COLUMNS.items()},
}


def _user_snapshot(user: ScimUser, values: list[ScimUserValue]) -> dict[str, Any]:
    """The user as the audit log keeps it: its SCIM document without metadata or groups."""
    context = UserContext(values={user.pk: values}, load_groups=False)
    doc = UserSerializer("").render(user, context)
    doc.pop("meta", None)
    return doc


def _remember(user: ScimUser, values: list[ScimUserValue], groups: list[Any]) -> None:
    """Keep what was just written on the instance, so the response needs no re-read."""
    user.scim_context = UserContext(  # type: ignore[attr-defined]
        values={user.pk: values}, groups={user.pk: groups}
    )


def _resolve_manager(organization: Organization, user: ScimUser, manager: str | None) -> None:
    if manager is None:
        return
    if manager == "":
        user.manager = None
        return
    pk = parse_id(manager)
    found = ScimUser.objects.for_tenant(organization).filter(pk=pk).first() if pk else None
    if found is None:
        raise InvalidValueError(f'manager "{manager}" is not a user of this organization.')
    if user.pk == found.pk:
        raise InvalidValueError("A user cannot be their own manager.")
    user.manager = found


def _write_user(
    organization: Organization,
    user: ScimUser,
    changes: UserChanges,
    *,
    creating: bool,
    previous: list[ScimUserValue] | None = None,
) -> None:
    """Store columns, value rows and the portal account of ``user`` from ``changes``."""
    if not changes.columns["user_name"]:
        raise InvalidValueError("userName is required.")
    for column, value in changes.columns.items():
        setattr(user, column, value)
    check_lengths(user, USER_LABELS)
    _check_values(changes.values)
    if changes.active_given:
        user.active = changes.active
    _resolve_manager(organization, user, changes.manager)
    user.last_modified = now()
    for row in changes.values:
        row.organization = organization
        row.user = user
        row.derive_lookup_columns()
    if creating:
        user.save(force_insert=True)
        ScimUserValue.objects.bulk_create(changes.values)
    else:
        user.version += 1
        user.save()
        # Value rows are rewritten only when they differ (most updates leave them be).
        if [_row_key(row) for row in previous or []] != [_row_key(row) for row in changes.values]:
            ScimUserValue.objects.filter(user=user).delete()
            ScimUserValue.objects.bulk_create(changes.values)
    adapter = get_adapter()
    email = primary_email(changes.values)
    if user.account_id is None:
        user.account = adapter.create_account(user, primary_email=email, password=changes.password)
        user.save(update_fields=["account"])
    else:
        adapter.update_account(user.account, user, primary_email=email, password=changes.password)


def _row_key(row: ScimUserValue) -> tuple[Any, ...]:
    return (row.attribute, row.value, row.type, row.display, row.primary, row.extra)


def _check_values(values: list[ScimUserValue]) -> None:
    counts: dict[str, int] = {}
    for row in values:
        counts[row.attribute] = counts.get(row.attribute, 0) + 1
        check_lengths(row, {}, prefix=f"{row.attribute}.")
        longest = ScimUserValue.max_value_length(row.attribute)
        if len(row.value) > longest:
            raise InvalidValueError(f'"{row.attribute}.value" is longer than {longest} characters.')
    limit = scim_settings.MAX_VALUES_PER_ATTRIBUTE
    for attribute, count in counts.items():
        if count > limit:
            raise InvalidValueError(f'"{attribute}" has {count} values; at most {limit} are kept.')


def create_user(organization: Organization, actor: Actor, doc: dict[str, Any]) -> ScimUser:
    """Provision a user from a normalized SCIM document (POST /Users)."""
    changes = user_changes(doc)
    user = ScimUser(organization=organization)
    try:
        with audited(organization):
            _write_user(organization, user, changes, creating=True)
            _remember(user, changes.values, [])
            record_event(
                organization,
                actor,
                "user.created",
                "User",
                user.pk,
                after=_user_snapshot(user, changes.values),
            )
            after_commit(
                signals.user_provisioned,
                ScimUser,
                organization,
                actor,
                scim_user=user,
                account=user.account,
            )
    except IntegrityError as exc:
        raise user_name_conflict(exc, user.user_name) or exc from None
    return user


def replace_user(
    organization: Organization,
    actor: Actor,
    user_id: object,
    doc: dict[str, Any],
    *,
    if_match: str | None = None,
) -> ScimUser:
    """Replace a user with a normalized document (PUT); read-only attributes are ignored."""
    return _update_user(organization, actor, user_id, if_match, lambda _user, _context: doc)


def patch_user(
    organization: Organization,
    actor: Actor,
    user_id: object,
    operations: list[PatchOperation],
    *,
    if_match: str | None = None,
) -> ScimUser:
    """Apply PATCH operations to a user, all of them or none (RFC 7644 section 3.5.2)."""

    def patched(user: ScimUser, context: UserContext) -> dict[str, Any]:
        current = UserSerializer("").render(user, context)
        return apply_patch(current, operations, USER_RESOURCE)

    return _update_user(organization, actor, user_id, if_match, patched, patched=True)


def _update_user(
    organization: Organization,
    actor: Actor,
    user_id: object,
    if_match: str | None,
    new_document: Callable[[ScimUser, UserContext], dict[str, Any]],
    *,
    patched: bool = False,
) -> ScimUser:
    """Replace or patch: ``new_document`` makes the new document from the locked user."""
    attempted = ""
    try:
        with audited(organization):
            user = lock_user(organization, user_id)
            check_if_match(if_match, make_etag(user.version))
            context = UserContext.load([user])
            previous = context.values.get(user.pk, [])
            before = _user_snapshot(user, previous)
            # An unassigned ``active`` (None) changes nothing: access follows the
            # last explicit true or false, which the account's state holds.
            was_enabled = (
                user.account.is_active if user.account is not None else user.active is not False
            )
            changes = user_changes(new_document(user, context), patched=patched)
            attempted = changes.columns["user_name"]
            _write_user(organization, user, changes, creating=False, previous=previous)
            _remember(user, changes.values, context.groups.get(user.pk, []))
            after = _user_snapshot(user, changes.values)
            record_event(
                organization, actor, "user.updated", "User", user.pk, before=before, after=after
            )
            if user.active is False and was_enabled:
                _deactivate(organization, actor, user)
            elif user.active is True and not was_enabled:
                _reactivate(organization, actor, user)
    except IntegrityError as exc:
        raise user_name_conflict(exc, attempted) or exc from None
    return user


def _deactivate(
    organization: Organization, actor: Actor, user: ScimUser, *, deleted: bool = False
) -> None:
    """Disable the account at once and take away the roles its groups gave it."""
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


def _reactivate(organization: Organization, actor: Actor, user: ScimUser) -> None:
    """Restore the roles of a reactivated user from its current groups."""
    if user.account is not None:
        role_sync.reconcile(
            organization,
            actor,
            [user.account_id],
            lambda: role_sync.restore_from_groups(organization, user),
        )
    record_event(organization, actor, "user.reactivated", "User", user.pk)
    after_commit(
        signals.user_reactivated,
        ScimUser,
        organization,
        actor,
        scim_user=user,
        account=user.account,
    )


def delete_user(
    organization: Organization, actor: Actor, user_id: object, *, if_match: str | None = None
) -> None:
    """Delete a user (DELETE /Users/{id}); the portal account is disabled at once, not deleted.

    The user's groups lose a member, so they get a new version, an audit event
    and a ``group_membership_changed`` signal. They are locked before the user,
    in the order group changes lock them (group, then users: the lock order
    in ``_common``), so the two never deadlock.
    """
    with audited(organization):
        pk = parse_id(user_id)
        groups = list(
            ScimGroup.objects.for_tenant(organization)
            .select_for_update(of=("self",))
            .filter(memberships__user_id=pk)
            .order_by("pk")
            if pk
            else ()
        )
        user = lock_user(organization, user_id)
        check_if_match(if_match, make_etag(user.version))
        values = UserContext.load([user], groups=False).values.get(user.pk, [])
        before = _user_snapshot(user, values)
        _deactivate(organization, actor, user, deleted=True)
        user.delete()
        record_event(organization, actor, "user.deleted", "User", user_id, before=before)
        for group in groups:
            group.organization = organization
            touch_group(group)
            record_event(
                organization,
                actor,
                "group.updated",
                "Group",
                group.pk,
                after={
                    "membersRemoved": [str(pk)],
                    "membersRemovedCount": 1,
                    "reason": "user.deleted",
                },
            )
            after_commit(
                signals.group_membership_changed,
                ScimGroup,
                organization,
                actor,
                group=group,
                added=[],
                removed=[str(pk)],
            )
