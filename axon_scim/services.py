"""Every change to SCIM state, as one verb-named function per change.

Each function takes the organization and the actor, runs in one
transaction, writes its audit event in that same transaction and sends its
signal after commit. Views and commands call these; nothing else writes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.timezone import now

from . import roles, signals
from .adapter import get_adapter
from .audit import SYSTEM, Actor, audited, record_event
from .conf import scim_settings
from .models import (
    Organization,
    Role,
    RoleAssignment,
    ScimGroup,
    ScimMembership,
    ScimToken,
    ScimUser,
    ScimUserValue,
)
from .protocol.constants import ENTERPRISE_USER_SCHEMA
from .protocol.errors import ConflictError, InvalidValueError, NotFoundError
from .protocol.etag import check_if_match, make_etag
from .protocol.patch import MemberChange, PatchOperation, apply_patch, split_member_operations
from .protocol.schemas import GROUP_RESOURCE, USER_RESOURCE
from .rendering import (
    ENTERPRISE_COLUMNS,
    NAME_COLUMNS,
    USER_COLUMNS,
    GroupRenderer,
    UserChanges,
    UserContext,
    UserRenderer,
    primary_email,
    user_changes,
)


def _token_summary(token: ScimToken) -> dict[str, Any]:
    return {
        "label": token.label,
        "prefix": token.prefix,
        "expires": token.expires.isoformat() if token.expires else None,
        "revoked": token.revoked.isoformat() if token.revoked else None,
    }


def issue_token(
    organization: Organization,
    actor: Actor = SYSTEM,
    *,
    label: str = "",
    expires: datetime | None = None,
) -> tuple[ScimToken, str]:
    """Create a bearer token and return it with its secret, which is never stored."""
    secret = scim_settings.TOKEN_PREFIX + secrets.token_urlsafe(32)
    with audited(organization):
        token = ScimToken.objects.create(
            organization=organization,
            label=label,
            prefix=secret[: len(scim_settings.TOKEN_PREFIX) + 6],
            secret_hash=ScimToken.hash_secret(secret),
            created_by=actor.user,
            expires=expires,
        )
        record_event(
            organization, actor, "token.created", "Token", token.pk, after=_token_summary(token)
        )
    return token, secret


def revoke_token(token: ScimToken, actor: Actor = SYSTEM) -> ScimToken:
    """Revoke a token; requests presenting it fail from the next one on."""
    with audited(token.organization):
        token = ScimToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked is None:
            before = _token_summary(token)
            token.revoked = now()
            token.save(update_fields=["revoked"])
            record_event(
                token.organization,
                actor,
                "token.revoked",
                "Token",
                token.pk,
                before=before,
                after=_token_summary(token),
            )
    return token


# --- Users -------------------------------------------------------------------


def _user_snapshot(user: ScimUser, values: list[ScimUserValue]) -> dict[str, Any]:
    """The user as the audit log keeps it: its SCIM document without metadata or groups."""
    context = UserContext(values={user.pk: values}, load_groups=False)
    doc = UserRenderer("").render(user, context)
    doc.pop("meta", None)
    return doc


def _remember(user: ScimUser, values: list[ScimUserValue], groups: list[Any]) -> None:
    """Keep what was just written on the instance, so the response needs no re-read."""
    user.scim_context = UserContext(  # type: ignore[attr-defined]
        values={user.pk: values}, groups={user.pk: groups}
    )


def _group_snapshot(group: ScimGroup) -> dict[str, Any]:
    doc = GroupRenderer("").render(group, None)
    doc.pop("meta", None)
    return doc


def parse_id(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except (TypeError, ValueError):
        return None


def _lock_user(organization: Organization, user_id: object) -> ScimUser:
    """The user row, locked for the rest of the transaction; 404 for ids of other organizations."""
    pk = parse_id(user_id)
    user = (
        ScimUser.objects.for_tenant(organization)
        .select_for_update(of=("self",))
        .select_related("manager", "account")
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if user is None:
        raise NotFoundError(f'User "{user_id}" not found.')
    user.organization = organization
    return user


def _lock_group(organization: Organization, group_id: object) -> ScimGroup:
    """The group row, locked: concurrent member changes of one group serialize here."""
    pk = parse_id(group_id)
    group = (
        ScimGroup.objects.for_tenant(organization).select_for_update().filter(pk=pk).first()
        if pk
        else None
    )
    if group is None:
        raise NotFoundError(f'Group "{group_id}" not found.')
    group.organization = organization
    return group


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
    _check_lengths(user, USER_LABELS)
    _check_values(changes.values)
    if changes.active_given:
        user.active = changes.active
    _resolve_manager(organization, user, changes.manager)
    user.last_modified = now()
    for row in changes.values:
        row.organization = organization
        row.user = user
        row.value_lower = row.value.lower()
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


# Model field -> SCIM attribute, for errors that name what the client sent.
USER_LABELS: dict[str, str] = {
    **{column: name for name, column in USER_COLUMNS.items()},
    **{column: f"name.{name}" for name, column in NAME_COLUMNS.items()},
    **{column: f"{ENTERPRISE_USER_SCHEMA}:{name}" for name, column in ENTERPRISE_COLUMNS.items()},
}
GROUP_LABELS = {"display_name": "displayName", "external_id": "externalId"}


def _check_lengths(instance: Any, labels: dict[str, str], prefix: str = "") -> None:
    """A 400 naming the attribute for a value too long for its column, not a database error."""
    for model_field in instance._meta.concrete_fields:
        limit = getattr(model_field, "max_length", None)
        value = getattr(instance, model_field.attname)
        if limit and isinstance(value, str) and len(value) > limit:
            name = prefix + labels.get(model_field.name, model_field.name)
            raise InvalidValueError(f'"{name}" is longer than {limit} characters.')


def _check_values(values: list[ScimUserValue]) -> None:
    counts: dict[str, int] = {}
    for row in values:
        counts[row.attribute] = counts.get(row.attribute, 0) + 1
        _check_lengths(row, {}, prefix=f"{row.attribute}.")
    limit = scim_settings.MAX_VALUES_PER_ATTRIBUTE
    for attribute, count in counts.items():
        if count > limit:
            raise InvalidValueError(f'"{attribute}" has {count} values; at most {limit} are kept.')


def _is_unique_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    return type(cause).__name__ == "UniqueViolation" or "UNIQUE constraint" in str(exc)


def _unique_user_name(exc: IntegrityError, user_name: str) -> ConflictError | None:
    """The 409 for a unique violation: the database constraint is the arbiter, not a pre-check."""
    text = str(exc)
    if "axon_scim_user_name_unique" in text or "user_name_lower" in text:
        return ConflictError(f'userName "{user_name}" is already taken in this organization.')
    if _is_unique_violation(exc):  # e.g. the host already has a portal account of that name
        return ConflictError(f'userName "{user_name}" conflicts with an existing portal account.')
    return None


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
            _after_commit(
                signals.user_provisioned,
                ScimUser,
                organization,
                actor,
                scim_user=user,
                account=user.account,
            )
    except IntegrityError as exc:
        raise _unique_user_name(exc, user.user_name) or exc from None
    return user


def _after_commit(
    signal: Any, sender: type, organization: Organization, actor: Actor, **arguments: Any
) -> None:
    """Send ``signal`` once the transaction under way commits (never for a rolled-back change)."""
    if signal.has_listeners():
        transaction.on_commit(
            lambda: signal.send(sender=sender, organization=organization, actor=actor, **arguments)
        )


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
        current = UserRenderer("").render(user, context)
        return apply_patch(current, operations, USER_RESOURCE)

    return _update_user(organization, actor, user_id, if_match, patched, patched=True)


def _update_user(
    organization: Organization,
    actor: Actor,
    user_id: object,
    if_match: str | None,
    new_document: Any,
    *,
    patched: bool = False,
) -> ScimUser:
    attempted = ""
    try:
        with audited(organization):
            user = _lock_user(organization, user_id)
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
        raise _unique_user_name(exc, attempted) or exc from None
    return user


def _deactivate(
    organization: Organization, actor: Actor, user: ScimUser, *, deleted: bool = False
) -> None:
    """Disable the account at once and take away the roles its groups gave it."""
    if user.account is not None:
        account_id = user.account.pk
        roles.reconcile(
            organization,
            actor,
            [account_id],
            lambda: roles.drop_group_assignments(organization, account_id),
        )
        adapter = get_adapter()
        if deleted:
            adapter.retire_account(user.account, user)
        else:
            adapter.deactivate_account(user.account)
    if not deleted:
        record_event(organization, actor, "user.deactivated", "User", user.pk)
    _after_commit(
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
        roles.reconcile(
            organization,
            actor,
            [user.account_id],
            lambda: roles.restore_from_groups(organization, user),
        )
    record_event(organization, actor, "user.reactivated", "User", user.pk)
    _after_commit(
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
    in the order group changes lock them (group, then users), so the two
    never deadlock.
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
        user = _lock_user(organization, user_id)
        check_if_match(if_match, make_etag(user.version))
        values = UserContext.load([user], groups=False).values.get(user.pk, [])
        before = _user_snapshot(user, values)
        _deactivate(organization, actor, user, deleted=True)
        user.delete()
        record_event(organization, actor, "user.deleted", "User", user_id, before=before)
        for group in groups:
            group.organization = organization
            _touch_group(group)
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
            _after_commit(
                signals.group_membership_changed,
                ScimGroup,
                organization,
                actor,
                group=group,
                added=[],
                removed=[str(pk)],
            )


# --- Groups ------------------------------------------------------------------

CHUNK = roles.CHUNK
_chunks = roles.chunks


@dataclass
class Members:
    """Validated member ids of one organization, split by kind."""

    users: list[UUID] = field(default_factory=list)
    groups: list[UUID] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.users) + len(self.groups)


def _touch_users(organization: Organization, ids: Iterable[UUID]) -> int:
    """Bump the version of users whose ``groups`` change; returns how many rows matched.

    Rows are updated in id order, so two changes touching the same users lock
    them in the same order and cannot deadlock.
    """
    touched = 0
    for chunk in _chunks(sorted(set(ids))):
        touched += (
            ScimUser.objects.for_tenant(organization)
            .filter(pk__in=chunk)
            .update(version=F("version") + 1, last_modified=now())
        )
    return touched


def _resolve_members(
    organization: Organization,
    group: ScimGroup | None,
    values: Iterable[str],
    *,
    touch: bool = False,
) -> Members:
    """Check each id is a user or group of the organization; 400 names the first that is not.

    With ``touch`` the users are about to join, so their versions are bumped
    here, and an update that matches every id also proves they are all users.
    """
    wanted: dict[UUID, str] = {}
    for value in values:
        pk = parse_id(value)
        if pk is None:
            raise InvalidValueError(
                f'Member "{value}" is not a user or group of this organization.'
            )
        wanted.setdefault(pk, value)
    ids = list(wanted)
    users: set[UUID] = set()
    for chunk in _chunks(sorted(ids)):
        if touch and _touch_users(organization, chunk) == len(chunk):
            users.update(chunk)
            continue
        users.update(
            ScimUser.objects.for_tenant(organization)
            .filter(pk__in=chunk)
            .values_list("pk", flat=True)
        )
    rest = [pk for pk in ids if pk not in users]
    groups: set[UUID] = set()
    for chunk in _chunks(rest):
        groups.update(
            ScimGroup.objects.for_tenant(organization)
            .filter(pk__in=chunk)
            .values_list("pk", flat=True)
        )
    for pk in rest:
        if pk not in groups:
            raise InvalidValueError(
                f'Member "{wanted[pk]}" is not a user or group of this organization.'
            )
        if group is not None and pk == group.pk:
            raise InvalidValueError("A group cannot be a member of itself.")
    return Members([pk for pk in ids if pk in users], [pk for pk in ids if pk in groups])


def _add_members(organization: Organization, group: ScimGroup, members: Members) -> None:
    rows = [
        ScimMembership(organization=organization, group=group, user_id=pk) for pk in members.users
    ]
    rows += [
        ScimMembership(organization=organization, group=group, member_group_id=pk)
        for pk in members.groups
    ]
    ScimMembership.objects.bulk_create(rows, batch_size=CHUNK, ignore_conflicts=True)


def _remove_members(organization: Organization, group: ScimGroup, values: Iterable[str]) -> None:
    """Remove the given ids; ids that are not members are ignored (IdPs treat 400 as fatal)."""
    ids = [pk for pk in (parse_id(v) for v in values) if pk is not None]
    _touch_users(organization, ids)
    for chunk in _chunks(ids):
        ScimMembership.objects.filter(group=group).filter(
            Q(user_id__in=chunk) | Q(member_group_id__in=chunk)
        ).delete()


def _remove_all_members(organization: Organization, group: ScimGroup) -> None:
    members = ScimMembership.objects.filter(group=group)
    _touch_users(organization, members.filter(user__isnull=False).values_list("user_id", flat=True))
    members.delete()


def _current_member_ids(group: ScimGroup) -> list[UUID]:
    rows = ScimMembership.objects.filter(group=group).values_list("user_id", "member_group_id")
    return [user or member_group for user, member_group in rows]


def _present(group: ScimGroup, ids: list[UUID]) -> set[UUID]:
    """Which of ``ids`` are members of ``group`` now."""
    present: set[UUID] = set()
    for chunk in _chunks(ids):
        rows = ScimMembership.objects.filter(group=group).filter(
            Q(user_id__in=chunk) | Q(member_group_id__in=chunk)
        )
        present.update(u or g for u, g in rows.values_list("user_id", "member_group_id"))
    return present


class MembershipDelta:
    """Which members a change really added and removed, measured only when someone needs it.

    Roles of a mapped group and the ``group_membership_changed`` signal need
    exact sets; an unmapped group with no receivers skips the two queries.
    """

    def __init__(self, group: ScimGroup, changes: Iterable[MemberChange]) -> None:
        self.group = group
        self.needed = group.role_id is not None or signals.group_membership_changed.has_listeners()
        self.touched: list[UUID] = []
        self.before: set[UUID] = set()
        if not self.needed:
            return
        touched = {pk for change in changes for pk in map(parse_id, change.values) if pk}
        if any(change.kind in ("replace", "remove_all") for change in changes):
            touched.update(_current_member_ids(group))
        self.touched = list(touched)
        self.before = _present(group, self.touched)

    def settle(self, organization: Organization, actor: Actor) -> None:
        """After the change: grant and revoke the group's role, and signal after commit."""
        if not self.needed:
            return
        after = _present(self.group, self.touched)
        added, removed = after - self.before, self.before - after
        group = self.group
        if group.role_id is not None and (added or removed):
            gained = roles.accounts_of(organization, added)
            lost = roles.accounts_of(organization, removed)

            def change() -> None:
                roles.unassign_group(organization, group, lost)
                roles.assign_group_role(organization, group, gained)

            roles.reconcile(organization, actor, gained + lost, change, group=group)
        if added or removed:
            _after_commit(
                signals.group_membership_changed,
                ScimGroup,
                organization,
                actor,
                group=group,
                added=sorted(map(str, added)),
                removed=sorted(map(str, removed)),
            )


def _replace_members(organization: Organization, group: ScimGroup, members: Members) -> None:
    """Make the membership rows equal ``members``, touching only the difference."""
    current = ScimMembership.objects.filter(group=group)
    have_users = set(current.filter(user__isnull=False).values_list("user_id", flat=True))
    have_groups = set(
        current.filter(member_group__isnull=False).values_list("member_group_id", flat=True)
    )
    gone = [*(have_users - set(members.users)), *(have_groups - set(members.groups))]
    _touch_users(
        organization,
        [*(have_users - set(members.users)), *(pk for pk in members.users if pk not in have_users)],
    )
    for chunk in _chunks(gone):
        current.filter(Q(user_id__in=chunk) | Q(member_group_id__in=chunk)).delete()
    _add_members(
        organization,
        group,
        Members(
            [pk for pk in members.users if pk not in have_users],
            [pk for pk in members.groups if pk not in have_groups],
        ),
    )


def _member_ids(doc: dict[str, Any]) -> list[str]:
    return [str(item["value"]) for item in doc.get("members") or () if item.get("value")]


def _unique_group_name(exc: IntegrityError, name: str) -> ConflictError | None:
    text = str(exc)
    if "axon_scim_group_name_unique" in text or "display_name_lower" in text:
        return ConflictError(f'displayName "{name}" is already taken in this organization.')
    return None


def create_group(organization: Organization, actor: Actor, doc: dict[str, Any]) -> ScimGroup:
    """Create a group, with its members, from a normalized document (POST /Groups)."""
    group = ScimGroup(
        organization=organization,
        display_name=doc["displayName"],
        external_id=doc.get("externalId") or None,
    )
    _check_lengths(group, GROUP_LABELS)
    try:
        with audited(organization):
            members = _resolve_members(organization, None, _member_ids(doc), touch=True)
            group.save(force_insert=True)
            _add_members(organization, group, members)
            if members:
                _after_commit(
                    signals.group_membership_changed,
                    ScimGroup,
                    organization,
                    actor,
                    group=group,
                    added=[str(pk) for pk in [*members.users, *members.groups]],
                    removed=[],
                )
            record_event(
                organization,
                actor,
                "group.created",
                "Group",
                group.pk,
                after={**_group_snapshot(group), "memberCount": len(members)},
            )
    except IntegrityError as exc:
        raise _unique_group_name(exc, group.display_name) or exc from None
    return group


def replace_group(
    organization: Organization,
    actor: Actor,
    group_id: object,
    doc: dict[str, Any],
    *,
    if_match: str | None = None,
) -> ScimGroup:
    """Replace a group (PUT): its name, externalId and the whole member list."""
    try:
        with audited(organization):
            group = _lock_group(organization, group_id)
            check_if_match(if_match, make_etag(group.version))
            before = _group_snapshot(group)
            members = _resolve_members(organization, group, _member_ids(doc))
            delta = MembershipDelta(group, [MemberChange("replace", tuple(_member_ids(doc)))])
            _replace_members(organization, group, members)
            delta.settle(organization, actor)
            group.display_name = doc["displayName"]
            group.external_id = doc.get("externalId") or None
            _touch_group(group)
            record_event(
                organization,
                actor,
                "group.replaced",
                "Group",
                group.pk,
                before=before,
                after={**_group_snapshot(group), "memberCount": len(members)},
            )
    except IntegrityError as exc:
        raise _unique_group_name(exc, str(doc.get("displayName"))) or exc from None
    return group


def patch_group(
    organization: Organization,
    actor: Actor,
    group_id: object,
    operations: list[PatchOperation],
    *,
    if_match: str | None = None,
) -> ScimGroup:
    """Apply PATCH operations to a group; member changes are set operations on rows."""
    attribute_ops, member_changes = split_member_operations(operations)
    try:
        with audited(organization):
            group = _lock_group(organization, group_id)
            check_if_match(if_match, make_etag(group.version))
            before = _group_snapshot(group)
            if attribute_ops:
                doc = apply_patch(
                    GroupRenderer("").render(group, None), attribute_ops, GROUP_RESOURCE
                )
                if not doc.get("displayName"):
                    raise InvalidValueError("displayName is required.")
                group.display_name = doc["displayName"]
                group.external_id = doc.get("externalId") or None
            summary: dict[str, Any] = {}
            delta = MembershipDelta(group, member_changes)
            for change in member_changes:
                _apply_member_change(organization, group, change, summary)
            delta.settle(organization, actor)
            _touch_group(group)
            record_event(
                organization,
                actor,
                "group.updated",
                "Group",
                group.pk,
                before=before,
                after={**_group_snapshot(group), **summary},
            )
    except IntegrityError as exc:
        raise _unique_group_name(exc, group.display_name) or exc from None
    return group


AUDITED_IDS = 100  # member ids listed in one audit event; the count is always exact


def _apply_member_change(
    organization: Organization, group: ScimGroup, change: MemberChange, summary: dict[str, Any]
) -> None:
    values = list(change.values)
    if change.kind == "add":
        members = _resolve_members(organization, group, values, touch=True)
        _add_members(organization, group, members)
    elif change.kind == "remove":
        _remove_members(organization, group, values)
    elif change.kind == "replace":
        _replace_members(organization, group, _resolve_members(organization, group, values))
    else:  # remove_all
        _remove_all_members(organization, group)
    key = {
        "add": "membersAdded",
        "remove": "membersRemoved",
        "replace": "membersReplacedWith",
        "remove_all": "membersRemovedAll",
    }[change.kind]
    if change.kind == "remove_all":
        summary[key] = True
    else:
        listed = summary.setdefault(key, [])
        listed.extend(values[: max(0, AUDITED_IDS - len(listed))])
        summary[key + "Count"] = summary.get(key + "Count", 0) + len(values)


def _touch_group(group: ScimGroup) -> None:
    _check_lengths(group, GROUP_LABELS)
    group.version += 1
    group.last_modified = now()
    group.save()


def delete_group(
    organization: Organization, actor: Actor, group_id: object, *, if_match: str | None = None
) -> None:
    """Delete a group and its membership rows (DELETE /Groups/{id})."""
    with audited(organization):
        group = _lock_group(organization, group_id)
        check_if_match(if_match, make_etag(group.version))
        before = _group_snapshot(group)
        delta = MembershipDelta(group, [MemberChange("remove_all", ())])
        _remove_all_members(organization, group)
        delta.settle(organization, actor)
        group.delete()
        record_event(organization, actor, "group.deleted", "Group", group_id, before=before)


# --- Roles -------------------------------------------------------------------


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
        group = _lock_group(organization, group_id)
        role = None if role_id is None else _role_of(organization, role_id)
        if group.role_id == (role.pk if role else None):
            return group
        old = group.role
        accounts = roles.member_accounts(group)

        def change() -> None:
            roles.unassign_group(organization, group)
            group.role = role
            group.save(update_fields=["role"])
            if role is not None:
                roles.assign_group_role(organization, group, accounts)

        roles.reconcile(organization, actor, accounts, change, group=group)
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
        roles.reconcile(
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
        roles.reconcile(
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
        roles.refresh_holders(organization, role)
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
