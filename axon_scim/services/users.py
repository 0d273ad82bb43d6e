"""SCIM users: create, replace, patch and delete one, with its portal account alongside.

A user whose ``active`` turns false is deactivated at once (account disabled,
roles from groups withdrawn); turning it true again reactivates it. Its
``manager`` must be another user of the same organization.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection
from django.db.models import F
from django.utils.timezone import now

from .. import signals
from ..audit import Actor, audited, record_event
from ..conf import scim_settings
from ..extension_models import ScimExtensionValue
from ..extension_values import extension_rows, row_state
from ..extensions import custom_schemas, resource_type
from ..models import Organization, ScimGroup, ScimMembership, ScimUser, ScimUserValue
from ..protocol.errors import ConflictError, InvalidValueError, NotFoundError
from ..protocol.etag import check_if_match, make_etag
from ..protocol.patch import PatchOperation, apply_patch
from ..protocol.schemas import USER_RESOURCE, ResourceType
from ..rendering import (
    USER_LABELS,
    UserChanges,
    UserContext,
    UserRenderer,
    user_changes,
)
from ._common import (
    LocksMoved,
    after_commit,
    check_lengths,
    key_share,
    lock_account,
    lock_for_key_change,
    lock_groups,
    lock_user,
    lock_users,
    parse_id,
    retry_locks,
    user_name_conflict,
)
from .accounts import (
    apply_custom,
    create_account,
    deactivate,
    enabled,
    reactivate,
    sync_account,
)
from .custom_values import (
    extension_payload,
    note_ignored,
    snapshot_extensions,
    store_extension_rows,
    with_ignored,
)
from .groups import touch_group

__all__ = ["create_user", "delete_user", "patch_user", "replace_user"]


def _user_snapshot(
    user: ScimUser,
    values: list[ScimUserValue],
    custom: Sequence[ScimExtensionValue] = (),
    resource: ResourceType = USER_RESOURCE,
) -> dict[str, Any]:
    """The user as the audit log keeps it: its SCIM document without metadata or groups."""
    context = UserContext(values={user.pk: values}, load_groups=False)
    doc = UserRenderer("").render(user, context)
    doc.pop("meta", None)
    return snapshot_extensions(doc, custom, resource)


def _remember(
    user: ScimUser,
    values: list[ScimUserValue],
    groups: list[Any],
    custom: list[ScimExtensionValue],
    resource: ResourceType,
) -> None:
    """Keep what was just written on the instance, so the response needs no re-read."""
    user.scim_context = UserContext(  # type: ignore[attr-defined]
        values={user.pk: values},
        groups={user.pk: groups},
        resource=resource,
        extensions={user.pk: custom},
    )


def _locked_context(user: ScimUser, resource: ResourceType) -> UserContext:
    """What a write reads of its locked user: value rows and groups, in one statement.

    ``UserContext.load`` takes one statement for each; PostgreSQL aggregates
    both into one row here. Custom attribute rows, when the organization has
    any, and other databases take the general path.
    """
    if connection.vendor != "postgresql" or custom_schemas(resource):
        return UserContext.load([user], resource=resource)
    quote = connection.ops.quote_name
    values, members = quote(ScimUserValue._meta.db_table), quote(ScimMembership._meta.db_table)
    groups = quote(ScimGroup._meta.db_table)
    sql = (
        f"SELECT (SELECT json_agg(v ORDER BY v.attribute, v.position) FROM {values} v"
        "         WHERE v.organization_id = %s AND v.user_id = %s),"
        "        (SELECT json_agg(json_build_array(m.group_id, g.display_name)"
        "                         ORDER BY g.display_name_lower)"
        f"         FROM {members} m JOIN {groups} g"
        "           ON g.id = m.group_id AND g.organization_id = m.organization_id"
        "         WHERE m.organization_id = %s AND m.user_id = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.organization_id, user.pk] * 2)
        rows, memberships = cursor.fetchone()
    return UserContext(
        values={user.pk: [ScimUserValue(**{**row, "user_id": user.pk}) for row in rows or ()]},
        groups={user.pk: [(UUID(group), name) for group, name in memberships or ()]},
    )


def _resolve_manager(organization: Organization, user: ScimUser, manager: str | None) -> None:
    """Point ``user`` at the manager the document names; a new manager is held FOR KEY SHARE.

    The key-share lock (see services._common) keeps the manager from being
    deleted before this change commits: a concurrent delete either finishes
    first, and the manager is then unknown (400), or waits for this change.
    """
    if manager is None:
        return
    if manager == "":
        user.manager = None
        return
    pk = parse_id(manager)
    if pk is not None and pk == user.manager_id:
        return
    found = ScimUser.objects.for_tenant(organization).filter(pk=pk).first() if pk else None
    if found is None or not key_share(ScimUser, organization, [found.pk]):
        raise InvalidValueError(f'manager "{manager}" is not a user of this organization.')
    if user.pk == found.pk:
        raise InvalidValueError("A user cannot be their own manager.")
    user.manager = found


def _assign(organization: Organization, user: ScimUser, changes: UserChanges) -> None:
    """Set the columns, ``active`` and manager of ``user`` from ``changes``; nothing is saved."""
    if not changes.columns["user_name"]:
        raise InvalidValueError("userName is required.")
    for column, value in changes.columns.items():
        setattr(user, column, value)
    check_lengths(user, USER_LABELS)
    _check_values(changes.values)
    if changes.active_given:
        user.active = changes.active
    _resolve_manager(organization, user, changes.manager)
    for row in changes.values:
        row.organization = organization
        row.user = user
        row.derive_lookup_columns()


# Columns that say nothing about what the client sent: they never make a change.
BOOKKEEPING = frozenset(
    {"id", "organization_id", "account_id", "version", "created", "last_modified"}
)


def _stored_state(user: ScimUser, values: list[ScimUserValue]) -> tuple[Any, ...]:
    """What a write would store for ``user``: equal states mean the write changes nothing."""
    columns = tuple(
        getattr(user, column.attname)
        for column in ScimUser._meta.concrete_fields
        if column.attname not in BOOKKEEPING and column.attname != "user_name_lower"
    )
    return columns, sorted(map(_row_key, values))


def _store(
    user: ScimUser, changes: UserChanges, previous: list[ScimUserValue] | None = None
) -> None:
    """Save the user and its value rows: a new user (``previous`` None) or a new version."""
    user.last_modified = now()
    if previous is None:
        user.save(force_insert=True)
        ScimUserValue.objects.bulk_create(changes.values)
        return
    user.version += 1
    user.save()
    # Value rows are rewritten only when they differ (most updates leave them be).
    if sorted(map(_row_key, previous)) != sorted(map(_row_key, changes.values)):
        ScimUserValue.objects.filter(organization_id=user.organization_id, user=user).delete()
        ScimUserValue.objects.bulk_create(changes.values)


def _row_key(row: ScimUserValue) -> tuple[Any, ...]:
    # (attribute, position) is unique, so sorting never compares what follows.
    return (row.attribute, row.position, row.value, row.type, row.display, row.primary, row.extra)


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


def create_user(
    organization: Organization,
    actor: Actor,
    doc: dict[str, Any],
    *,
    ignored: Sequence[str] = (),
) -> ScimUser:
    """Provision a user from a normalized SCIM document (POST /Users).

    ``ignored`` names the attributes the client sent that nobody declared;
    the audit event notes them. Locks: see services._common (only a manager
    it names, FOR KEY SHARE).
    """
    resource = resource_type(USER_RESOURCE, organization)
    changes, custom = user_changes(doc), extension_rows(doc, resource)
    user = ScimUser(organization=organization)
    try:
        with audited(organization):
            _assign(organization, user, changes)
            create_account(user, changes)  # first: the user's INSERT then carries its id
            _store(user, changes)
            store_extension_rows(organization, user, custom, None)
            apply_custom(user, extension_payload(doc, resource, custom))
            _remember(user, changes.values, [], custom, resource)
            after = _user_snapshot(user, changes.values, custom, resource)
            record_event(
                organization,
                actor,
                "user.created",
                "User",
                user.pk,
                after=with_ignored(after, ignored),
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
        raise _create_conflict(organization, exc, user.user_name) or exc from None
    return user


def _create_conflict(
    organization: Organization, exc: IntegrityError, user_name: str
) -> ConflictError | None:
    """The 409 of a create: the account is written first, so a userName taken in the
    organization may surface as its account's conflict; it is named as taken all the same."""
    conflict = user_name_conflict(exc, user_name)
    if conflict is not None:
        taken = ScimUser.objects.for_tenant(organization).filter(user_name_lower=user_name.lower())
        if taken.exists():
            return user_name_conflict(exc, user_name, taken=True)
    return conflict


def replace_user(
    organization: Organization,
    actor: Actor,
    user_id: object,
    doc: dict[str, Any],
    *,
    if_match: str | None = None,
    ignored: Sequence[str] = (),
) -> ScimUser:
    """Replace a user with a normalized document (PUT); read-only attributes are ignored."""
    new_document = lambda _user, _context: doc  # noqa: E731 - the PUT body is the document
    return _update_user(organization, actor, user_id, if_match, new_document, ignored=ignored)


def patch_user(
    organization: Organization,
    actor: Actor,
    user_id: object,
    operations: list[PatchOperation],
    *,
    if_match: str | None = None,
    ignored: Sequence[str] = (),
) -> ScimUser:
    """Apply PATCH operations to a user, all of them or none (RFC 7644 section 3.5.2)."""

    def patched(user: ScimUser, context: UserContext) -> dict[str, Any]:
        current = UserRenderer("").render(user, replace(context, write_only=True))
        resource = context.resource or USER_RESOURCE
        limit = scim_settings.MAX_VALUES_PER_ATTRIBUTE
        return apply_patch(current, operations, resource, max_values=limit)

    return _update_user(organization, actor, user_id, if_match, patched, True, ignored)


def _update_user(
    organization: Organization,
    actor: Actor,
    user_id: object,
    if_match: str | None,
    new_document: Callable[[ScimUser, UserContext], dict[str, Any]],
    patched: bool = False,
    ignored: Sequence[str] = (),
) -> ScimUser:
    """Replace or patch: ``new_document`` makes the new document from the locked user.

    Locks: see services._common (the user, a new manager FOR KEY SHARE, the
    user FOR UPDATE if its userName changes, the account, then the roles if
    it is deactivated or reactivated, and for a reactivation the groups its
    roles come from FOR KEY SHARE). A document that changes nothing writes
    nothing: no new version, no change event (``note_ignored`` at most).
    """
    attempted = ""
    try:
        with audited(organization):
            user = lock_user(organization, user_id)
            check_if_match(if_match, make_etag(user.version))
            resource = resource_type(USER_RESOURCE, organization)
            context = _locked_context(user, resource)
            previous = context.values.get(user.pk, [])
            old_custom = context.extensions.get(user.pk, [])
            before = _user_snapshot(user, previous, old_custom, resource)
            state = _stored_state(user, previous), row_state(old_custom)
            doc = new_document(user, context)
            changes = user_changes(doc, patched=patched)
            custom = extension_rows(doc, resource, old_custom, replacing=not patched)
            attempted = changes.columns["user_name"]
            was_active, key = user.active, user.user_name_lower
            _assign(organization, user, changes)
            if user.user_name.lower() != key:  # a key change (see services._common)
                lock_for_key_change(ScimUser, organization, user.pk)
            lock_account(user)
            was_enabled = enabled(user, was_active)
            new_state = _stored_state(user, changes.values), row_state(custom)
            if new_state != state or _sets_password(changes):
                _store(user, changes, previous)
                store_extension_rows(organization, user, custom, old_custom)
                after = _user_snapshot(user, changes.values, custom, resource)
                after = with_ignored(after, ignored)
                record_event(
                    organization, actor, "user.updated", "User", user.pk, before=before, after=after
                )
            else:
                note_ignored(organization, actor, "User", user.pk, ignored)
            sync_account(user, changes, extension_payload(doc, resource, custom))
            _remember(user, changes.values, context.groups.get(user.pk, []), custom, resource)
            if user.active is False and was_enabled:
                deactivate(organization, actor, user)
            elif user.active is True and not was_enabled:
                reactivate(organization, actor, user)
    except IntegrityError as exc:
        raise user_name_conflict(exc, attempted) or exc from None
    return user


def _sets_password(changes: UserChanges) -> bool:
    """A stored password is a change even though it is never returned (write-only)."""
    return changes.password is not None and scim_settings.STORE_PASSWORD


def _ids(rows: Any) -> set[UUID]:
    return set(rows.values_list("pk", flat=True))


def _lock_for_delete(organization: Organization, pk: UUID) -> tuple[ScimUser, list[ScimGroup]]:
    """The user to delete and its groups, locked in the lock order (see services._common).

    Its groups lose a member, and its reports lose their manager; both are
    read, locked (groups, then the user and its reports in id order) and read
    again, since a change may have committed in between (``retry_locks``).
    Then the user is locked FOR UPDATE: nothing new can refer to it.
    """
    member = {"memberships__organization_id": organization.pk, "memberships__user_id": pk}
    groups_of = ScimGroup.objects.for_tenant(organization).filter(**member)
    reports_of = ScimUser.objects.for_tenant(organization).filter(manager_id=pk)
    group_ids, report_ids = _ids(groups_of), _ids(reports_of)
    groups = lock_groups(organization, group_ids)
    lock_users(organization, {pk, *report_ids})
    user = lock_user(organization, pk)
    lock_for_key_change(ScimUser, organization, pk)
    if _ids(groups_of) != group_ids or not _ids(reports_of) <= report_ids:
        raise LocksMoved
    return user, groups


def delete_user(
    organization: Organization, actor: Actor, user_id: object, *, if_match: str | None = None
) -> None:
    """Delete a user (DELETE /Users/{id}); the portal account is disabled at once, not deleted.

    Locks: see services._common (the user's groups, the user and its reports,
    its account, the roles). The groups lose a member, so they get a new
    version, an audit event and a ``group_membership_changed`` signal; the
    reports lose their manager, so they get a new version. Audit events and
    signals carry the canonical id, whatever form of it the client sent.
    """
    with audited(organization):
        pk = parse_id(user_id)
        if pk is None:
            raise NotFoundError(f'User "{user_id}" not found.')
        user, groups = retry_locks(lambda: _lock_for_delete(organization, pk))
        lock_account(user)
        check_if_match(if_match, make_etag(user.version))
        resource = resource_type(USER_RESOURCE, organization)
        context = UserContext.load([user], groups=False, resource=resource)
        values, custom = context.values.get(pk, []), context.extensions.get(pk, [])
        before = _user_snapshot(user, values, custom, resource)
        deactivate(organization, actor, user, deleted=True)
        ScimUser.objects.for_tenant(organization).filter(manager_id=pk).update(
            manager=None, version=F("version") + 1, last_modified=now()
        )
        user.delete()
        user.pk = pk  # the signals sent after commit name the user that was deleted
        record_event(organization, actor, "user.deleted", "User", pk, before=before)
        for group in groups:
            _member_left(organization, actor, group, pk)


def _member_left(organization: Organization, actor: Actor, group: ScimGroup, pk: UUID) -> None:
    """A deleted user's group: a new version, an audit event, a signal after commit."""
    touch_group(group)
    record_event(
        organization,
        actor,
        "group.updated",
        "Group",
        group.pk,
        after={"membersRemoved": [str(pk)], "membersRemovedCount": 1, "reason": "user.deleted"},
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
