"""Groups and their memberships: create, replace, patch and delete a group; add and remove members.

A member change is measured, not assumed: the rows its INSERTs and DELETEs
return (``memberships``) give the members really added and removed. Only
those users get a new version (their ``groups`` changed), only they are
named in the audit event and the ``group_membership_changed`` signal, and
only their roles follow. Adding a member who is already there, or removing one who is not,
changes nothing at all: no version, no event, no signal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection
from django.db.models import F
from django.utils.timezone import now

from .. import role_sync, signals
from ..audit import Actor, audited, record_event
from ..extension_models import ScimExtensionValue
from ..extension_values import extension_rows, row_state
from ..models import Organization, ScimGroup, ScimUser
from ..protocol.errors import InvalidValueError
from ..protocol.etag import check_if_match, make_etag
from ..protocol.patch import (
    MemberChange,
    PatchOperation,
    apply_patch,
    collapse_member_changes,
    split_member_operations,
)
from ..protocol.schemas import GROUP_RESOURCE, ResourceType
from ..rendering import GroupRenderer
from ._common import (
    after_commit,
    among,
    batches,
    check_lengths,
    group_name_conflict,
    key_share,
    lock_group,
    lock_users,
    parse_id,
)
from .custom_values import group_extensions, note_ignored, store_extension_rows, with_ignored
from .memberships import add_rows, keep_rows, member_ids, remove_rows

__all__ = [
    "Members",
    "MembershipDelta",
    "create_group",
    "delete_group",
    "patch_group",
    "replace_group",
    "touch_group",
]


GROUP_LABELS = {"display_name": "displayName", "external_id": "externalId"}
AUDITED_IDS = 100  # member ids listed in one audit event; the count is always exact


def _group_snapshot(
    group: ScimGroup,
    custom: Sequence[ScimExtensionValue] = (),
    resource: ResourceType = GROUP_RESOURCE,
) -> dict[str, Any]:
    """The group as the audit log keeps it: without metadata or members, with custom values."""
    doc = GroupRenderer("").render(group, None, resource, custom)
    doc.pop("meta", None)
    return doc


def _store_custom(
    organization: Organization,
    group: ScimGroup,
    custom: list[ScimExtensionValue],
    previous: list[ScimExtensionValue] | None,
) -> None:
    """Write the group's custom rows (when they changed) and keep them for the response."""
    store_extension_rows(organization, group, custom, previous)
    group.scim_extensions = custom  # type: ignore[attr-defined]


@dataclass
class Members:
    """Validated member ids of one organization, split by kind."""

    users: list[UUID] = field(default_factory=list)
    groups: list[UUID] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.users) + len(self.groups)


def _not_a_member(value: object) -> InvalidValueError:
    return InvalidValueError(f'Member "{value}" is not a user or group of this organization.')


def _parse_ids(values: Iterable[str], *, strict: bool) -> list[UUID]:
    """The distinct ids among ``values``; with ``strict`` an id that does not parse is a 400."""
    ids: dict[UUID, None] = {}
    for value in values:
        pk = parse_id(value)
        if pk is not None:
            ids[pk] = None
        elif strict:
            raise _not_a_member(value)
    return list(ids)


def _resolve_members(
    organization: Organization, group: ScimGroup | None, ids: list[UUID], users: set[UUID]
) -> Members:
    """Split ``ids`` into users (``users``: locked already) and groups; 400 names the first neither.

    Member groups are only read here; ``_hold_groups`` holds them at the end.
    """
    rest = [pk for pk in ids if pk not in users]
    groups: set[UUID] = set()
    for batch in batches(rest):
        groups.update(
            ScimGroup.objects.for_tenant(organization)
            .filter(among("pk", batch))
            .values_list("pk", flat=True)
        )
    for pk in rest:
        if pk not in groups:
            raise _not_a_member(pk)
        if group is not None and pk == group.pk:
            raise InvalidValueError("A group cannot be a member of itself.")
    return Members([pk for pk in ids if pk in users], [pk for pk in ids if pk in groups])


def _hold_groups(organization: Organization, ids: Iterable[UUID]) -> None:
    """Hold the member groups just linked FOR KEY SHARE, last (see services._common).

    A group deleted since it was read is not a member after all: 400.
    """
    wanted = set(ids)
    missing = wanted - key_share(ScimGroup, organization, wanted) if wanted else set()
    if missing:
        raise _not_a_member(min(missing))


def _touch_users(organization: Organization, ids: Iterable[UUID]) -> None:
    """Bump the version of users whose ``groups`` changed (their rows are locked already)."""
    for batch in batches(sorted(set(ids))):
        ScimUser.objects.for_tenant(organization).filter(among("pk", batch)).update(
            version=F("version") + 1, last_modified=now()
        )


class MembershipDelta:
    """The members a change really added and removed, as its writes returned them.

    Each INSERT and DELETE returns the rows it really changed, so a member
    added and removed again within one change is neither added nor removed.
    ``current`` is every member before a change that replaces them all.
    """

    def __init__(self, group: ScimGroup, users: set[UUID], current: set[UUID]) -> None:
        self.group, self.users, self.current = group, users, current
        self.added: set[UUID] = set()
        self.removed: set[UUID] = set()
        self.touched = False  # the users' versions were bumped with the rows

    def came(self, ids: set[UUID]) -> None:
        self.removed, self.added = self.removed - ids, self.added | (ids - self.removed)

    def went(self, ids: set[UUID]) -> None:
        self.added, self.removed = self.added - ids, self.removed | (ids - self.added)

    @property
    def after(self) -> set[UUID]:
        """Every member after the change (meaningful when ``current`` holds every one before)."""
        return (self.current - self.removed) | self.added

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    def summary(self) -> dict[str, Any]:
        """What the audit event says: the ids added and removed (at most ``AUDITED_IDS`` each)."""
        out: dict[str, Any] = {}
        for key, ids in (("membersAdded", self.added), ("membersRemoved", self.removed)):
            if ids:
                out[key] = sorted(map(str, ids))[:AUDITED_IDS]
                out[key + "Count"] = len(ids)
        return out

    def settle(self, organization: Organization, actor: Actor) -> None:
        """After the change: the users' versions, the group's role, and the signal after commit.

        The users were locked before any row changed, so the ``active`` that
        decides who gets the role is read as committed; member groups just
        linked are held FOR KEY SHARE, after the roles (see services._common).
        """
        if not self:
            return
        group = self.group
        if not self.touched:
            _touch_users(organization, (self.added | self.removed) & self.users)
        if group.role_id is not None:
            gained = role_sync.accounts_of(organization, self.added & self.users)
            lost = role_sync.accounts_of(organization, self.removed & self.users)

            def change() -> None:
                role_sync.unassign_group(organization, group, lost)
                role_sync.assign_group_role(organization, group, gained)

            if gained or lost:
                role_sync.reconcile(organization, actor, gained + lost, change, group=group)
        _hold_groups(organization, self.added - self.users)
        after_commit(
            signals.group_membership_changed,
            ScimGroup,
            organization,
            actor,
            group=group,
            added=sorted(map(str, self.added)),
            removed=sorted(map(str, self.removed)),
        )


def _change_members(
    organization: Organization, group: ScimGroup, changes: list[MemberChange]
) -> MembershipDelta:
    """Apply member changes in order, as set operations on rows, and measure what they did.

    Locks: see services._common. Every user the changes name (and every
    current member, for a replace or a removal of all) is locked first, in id
    order, before any row changes. A single change on PostgreSQL bumps the
    users' versions in the statement that changes the rows.
    """
    named = [_parse_ids(c.values, strict=c.kind != "remove") for c in changes]
    whole = any(change.kind in ("replace", "remove_all") for change in changes)
    concerned = sorted({pk for ids in named for pk in ids})
    current = member_ids(group) if whole else set()
    users = lock_users(organization, [*concerned, *current])
    adding = [
        _resolve_members(organization, group, ids, users) if c.kind in ("add", "replace") else None
        for c, ids in zip(changes, named, strict=True)
    ]
    delta = MembershipDelta(group, users, current)
    delta.touched = bump = len(changes) == 1 and connection.vendor == "postgresql"
    for change, ids, members in zip(changes, named, adding, strict=True):
        if change.kind == "remove_all":
            delta.went(remove_rows(organization, group, None, bump=bump))
        elif change.kind == "remove":
            delta.went(remove_rows(organization, group, ids, bump=bump))
        elif change.kind == "replace":
            delta.went(keep_rows(organization, group, ids, bump=bump))
        if members is not None:
            delta.came(add_rows(organization, group, members, bump=bump))
    return delta


def _member_values(doc: dict[str, Any]) -> list[str]:
    return [str(item["value"]) for item in doc.get("members") or () if item.get("value")]


def create_group(
    organization: Organization,
    actor: Actor,
    doc: dict[str, Any],
    *,
    ignored: Sequence[str] = (),
) -> ScimGroup:
    """Create a group, with its members, from a normalized document (POST /Groups).

    ``ignored`` names the attributes the client sent that nobody declared;
    the audit event notes them. Locks: see services._common (the members:
    users locked, groups FOR KEY SHARE).
    """
    resource, _ = group_extensions(organization, None)
    custom = extension_rows(doc, resource)
    group = ScimGroup(
        organization=organization,
        display_name=doc["displayName"],
        external_id=doc.get("externalId") or None,
    )
    check_lengths(group, GROUP_LABELS)
    ids = _parse_ids(_member_values(doc), strict=True)
    try:
        with audited(organization):
            members = _resolve_members(organization, None, ids, lock_users(organization, ids))
            group.save(force_insert=True)
            _store_custom(organization, group, custom, None)
            add_rows(organization, group, members, bump=connection.vendor == "postgresql")
            if connection.vendor != "postgresql":
                _touch_users(organization, members.users)
            _hold_groups(organization, members.groups)
            if members:
                after_commit(
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
                after=with_ignored(
                    {**_group_snapshot(group, custom, resource), "memberCount": len(members)},
                    ignored,
                ),
            )
    except IntegrityError as exc:
        raise group_name_conflict(exc, group.display_name) or exc from None
    return group


def replace_group(
    organization: Organization,
    actor: Actor,
    group_id: object,
    doc: dict[str, Any],
    *,
    if_match: str | None = None,
    ignored: Sequence[str] = (),
) -> ScimGroup:
    """Replace a group (PUT): its name, externalId, custom attributes and the whole member list.

    Locks: see services._common (the group, its old and new members, their
    accounts, the roles). A PUT that repeats the group changes nothing.
    ``ignored`` names the attributes the client sent that nobody declared.
    """
    try:
        with audited(organization):
            group = lock_group(organization, group_id)
            check_if_match(if_match, make_etag(group.version))
            resource, old_custom = group_extensions(organization, group)
            custom = extension_rows(doc, resource, old_custom)
            before = _group_snapshot(group, old_custom, resource)
            group.display_name = doc["displayName"]
            group.external_id = doc.get("externalId") or None
            check_lengths(group, GROUP_LABELS)
            replace = MemberChange("replace", tuple(_member_values(doc)))
            delta = _change_members(organization, group, [replace])
            delta.settle(organization, actor)
            custom_changed = row_state(custom) != row_state(old_custom)
            if delta or custom_changed or _group_snapshot(group, custom, resource) != before:
                _store_custom(organization, group, custom, old_custom)
                touch_group(group)
                after = {
                    **_group_snapshot(group, custom, resource),
                    "memberCount": len(delta.after),
                    **delta.summary(),
                }
                record_event(
                    organization,
                    actor,
                    "group.replaced",
                    "Group",
                    group.pk,
                    before=before,
                    after=with_ignored(after, ignored),
                )
            else:
                note_ignored(organization, actor, "Group", group.pk, ignored)
            group.scim_extensions = custom  # type: ignore[attr-defined]
    except IntegrityError as exc:
        raise group_name_conflict(exc, str(doc.get("displayName"))) or exc from None
    return group


def patch_group(
    organization: Organization,
    actor: Actor,
    group_id: object,
    operations: list[PatchOperation],
    *,
    if_match: str | None = None,
    ignored: Sequence[str] = (),
) -> ScimGroup:
    """Apply PATCH operations to a group; member changes are set operations on rows.

    Locks: see services._common (the group, the members the operations name,
    their accounts, the roles). A PATCH that changes nothing writes nothing
    (``note_ignored`` at most, for the undeclared attributes it named).
    """
    attribute_ops, member_changes = split_member_operations(operations)
    member_changes = collapse_member_changes(member_changes)  # the same effect, a few set ops
    try:
        with audited(organization):
            group = lock_group(organization, group_id)
            check_if_match(if_match, make_etag(group.version))
            resource, old_custom = group_extensions(organization, group)
            before, custom = _group_snapshot(group, old_custom, resource), old_custom
            if attribute_ops:
                current = GroupRenderer("").render(
                    group, None, resource, old_custom, write_only=True
                )
                doc = apply_patch(current, attribute_ops, resource)
                if not doc.get("displayName"):
                    raise InvalidValueError("displayName is required.")
                group.display_name = doc["displayName"]
                group.external_id = doc.get("externalId") or None
                custom = extension_rows(doc, resource, old_custom, replacing=False)
            custom_changed = row_state(custom) != row_state(old_custom)
            changed = custom_changed or _group_snapshot(group, custom, resource) != before
            summary: dict[str, Any] = {}
            if member_changes:
                delta = _change_members(organization, group, member_changes)
                delta.settle(organization, actor)
                changed, summary = changed or bool(delta), delta.summary()
            if changed:
                _store_custom(organization, group, custom, old_custom)
                touch_group(group)
                record_event(
                    organization,
                    actor,
                    "group.updated",
                    "Group",
                    group.pk,
                    before=before,
                    after=with_ignored(
                        {**_group_snapshot(group, custom, resource), **summary}, ignored
                    ),
                )
            else:
                note_ignored(organization, actor, "Group", group.pk, ignored)
            group.scim_extensions = custom  # type: ignore[attr-defined]
    except IntegrityError as exc:
        raise group_name_conflict(exc, group.display_name) or exc from None
    return group


def touch_group(group: ScimGroup) -> None:
    """A new version of the group (its row is locked), saved with its attributes."""
    check_lengths(group, GROUP_LABELS)
    group.version += 1
    group.last_modified = now()
    group.save()


def delete_group(
    organization: Organization, actor: Actor, group_id: object, *, if_match: str | None = None
) -> None:
    """Delete a group and its membership rows (DELETE /Groups/{id}).

    Locks: see services._common (the group, its members, their accounts, the
    roles). The audit event and the signal carry the canonical id.
    """
    with audited(organization):
        group = lock_group(organization, group_id)
        check_if_match(if_match, make_etag(group.version))
        resource, custom = group_extensions(organization, group)
        before = _group_snapshot(group, custom, resource)
        delta = _change_members(organization, group, [MemberChange("remove_all", ())])
        delta.settle(organization, actor)
        pk = group.pk
        group.delete()
        group.pk = pk  # the signal sent after commit names the group that was deleted
        record_event(organization, actor, "group.deleted", "Group", pk, before=before)
