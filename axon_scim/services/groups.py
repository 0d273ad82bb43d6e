"""Groups and their memberships: create, replace, patch and delete a group; add and remove members.

A member change touches only the difference: the users who join or leave get a
new version (their ``groups`` changed), and ``MembershipDelta`` hands the exact
added and removed sets to role sync (for a mapped group) and to the
``group_membership_changed`` signal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils.timezone import now

from .. import role_sync, signals
from ..audit import Actor, audited, record_event
from ..models import Organization, ScimGroup, ScimMembership, ScimUser
from ..protocol.errors import InvalidValueError
from ..protocol.etag import check_if_match, make_etag
from ..protocol.patch import (
    MemberChange,
    PatchOperation,
    apply_patch,
    collapse_member_changes,
    split_member_operations,
)
from ..protocol.schemas import GROUP_RESOURCE
from ..rendering import GroupRenderer
from ._common import (
    CHUNK,
    after_commit,
    check_lengths,
    chunks,
    group_name_conflict,
    lock_group,
    parse_id,
)

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


def _group_snapshot(group: ScimGroup) -> dict[str, Any]:
    doc = GroupRenderer("").render(group, None)
    doc.pop("meta", None)
    return doc


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
    for chunk in chunks(sorted(set(ids))):
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
    for chunk in chunks(sorted(ids)):
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
    for chunk in chunks(rest):
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
    for chunk in chunks(ids):
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
    for chunk in chunks(ids):
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
            gained = role_sync.accounts_of(organization, added)
            lost = role_sync.accounts_of(organization, removed)

            def change() -> None:
                role_sync.unassign_group(organization, group, lost)
                role_sync.assign_group_role(organization, group, gained)

            role_sync.reconcile(organization, actor, gained + lost, change, group=group)
        if added or removed:
            after_commit(
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
    for chunk in chunks(gone):
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


def create_group(organization: Organization, actor: Actor, doc: dict[str, Any]) -> ScimGroup:
    """Create a group, with its members, from a normalized document (POST /Groups)."""
    group = ScimGroup(
        organization=organization,
        display_name=doc["displayName"],
        external_id=doc.get("externalId") or None,
    )
    check_lengths(group, GROUP_LABELS)
    try:
        with audited(organization):
            members = _resolve_members(organization, None, _member_ids(doc), touch=True)
            group.save(force_insert=True)
            _add_members(organization, group, members)
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
                after={**_group_snapshot(group), "memberCount": len(members)},
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
) -> ScimGroup:
    """Replace a group (PUT): its name, externalId and the whole member list."""
    try:
        with audited(organization):
            group = lock_group(organization, group_id)
            check_if_match(if_match, make_etag(group.version))
            before = _group_snapshot(group)
            members = _resolve_members(organization, group, _member_ids(doc))
            delta = MembershipDelta(group, [MemberChange("replace", tuple(_member_ids(doc)))])
            _replace_members(organization, group, members)
            delta.settle(organization, actor)
            group.display_name = doc["displayName"]
            group.external_id = doc.get("externalId") or None
            touch_group(group)
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
        raise group_name_conflict(exc, str(doc.get("displayName"))) or exc from None
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
    member_changes = collapse_member_changes(member_changes)  # the same effect, a few set ops
    try:
        with audited(organization):
            group = lock_group(organization, group_id)
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
            touch_group(group)
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
        raise group_name_conflict(exc, group.display_name) or exc from None
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


def touch_group(group: ScimGroup) -> None:
    check_lengths(group, GROUP_LABELS)
    group.version += 1
    group.last_modified = now()
    group.save()


def delete_group(
    organization: Organization, actor: Actor, group_id: object, *, if_match: str | None = None
) -> None:
    """Delete a group and its membership rows (DELETE /Groups/{id})."""
    with audited(organization):
        group = lock_group(organization, group_id)
        check_if_match(if_match, make_etag(group.version))
        before = _group_snapshot(group)
        delta = MembershipDelta(group, [MemberChange("remove_all", ())])
        _remove_all_members(organization, group)
        delta.settle(organization, actor)
        group.delete()
        record_event(organization, actor, "group.deleted", "Group", group_id, before=before)
