"""What the services share: id parsing, row locks, length checks, conflicts, signals after commit.

The lock order
==============

Every service takes its row locks in this one order, so that no two changes
can ever wait for each other in a cycle (a deadlock). A service may skip a
level, but never goes back to an earlier one:

0. the **organization** row, FOR NO KEY UPDATE, only to declare one of its
   own custom attributes (``declare_custom_attribute``: the count against
   the limit and the insert), which then takes nothing but the chain head;
1. **SCIM groups**, by primary key (``lock_group``, ``lock_groups``);
2. **SCIM users**, by id (``lock_user``, ``lock_users``): a membership change
   locks every user it may add or remove, all at once, before it changes a
   row; ``delete_user`` locks its user with the users reporting to it;
3. **portal accounts**, by primary key (``lock_account``;
   ``role_sync.reconcile``, called once per transaction, locks every account
   whose assignments it may change before it reads them);
4. **roles**, by primary key (``role_sync.lock_roles``: the roles whose
   permissions are applied, or all of an organization's for ``save_role``);
5. the organization's **audit-chain head**, last (``audit.audited`` seals the
   transaction's events just before it commits).

Every row whose state a decision reads is locked, and read after its lock is
granted: under READ COMMITTED a row fetched beside a locked row (by
``select_related``) is neither locked nor fresh. What each lock guards:

- a group row: the group's attributes, members and mapping;
- a SCIM user row: its attributes and memberships (whoever adds or removes a
  member locks the user first), and, with its account, its ``active``;
- an account row: its ``is_active``, role assignments and permissions.
  ``active`` and ``is_active`` are written only while both the user and the
  account are locked, so a decision may read them holding either: the
  membership path reads ``active`` holding the users, a mapping change reads
  it holding the members' accounts;
- a role row: its permission set.

Locks are FOR NO KEY UPDATE, which does not block inserts that merely refer
to the row. Deleting a row, or changing a unique column (a userName, a
displayName), needs FOR UPDATE (``lock_for_key_change``), which also waits
for every transaction that refers to the row and holds it FOR KEY SHARE
(``key_share``, or the database's own foreign-key check at commit). Both are
taken where they cannot close a cycle:

- a user's FOR UPDATE right after its ordinary lock, at level 2
  (``delete_user``, a userName change), before any account; so a change that
  refers to a user (a new manager) holds it FOR KEY SHARE at level 2 too;
- a group's FOR UPDATE at the very end, before the audit-chain head
  (``delete_group``, a displayName change), since a group's deletion must
  first lock its members; so a change that refers to a group it does not
  lock (a nested member group, the groups a reactivated user's roles come
  from) holds it FOR KEY SHARE at its very end too, after the roles.

Either way the reference is held before the audit-chain head, so the
database's foreign-key checks at commit never wait on anybody. Whatever
refers to a portal account (assignments, permissions) holds the account's
own lock, so renaming or retiring an account waits for nobody.

Where the rows to lock are known only by reading them first (the groups and
reports of a user being deleted, the holders of a role being edited),
``retry_locks`` reads, locks and reads again, and starts over, in a savepoint
that lets its locks go, when a change committed in between.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import IntegrityError, models, transaction
from django.dispatch import Signal

from ..audit import Actor
from ..models import Organization, ScimGroup, ScimUser
from ..protocol.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    ServiceUnavailableError,
)

# Defined in role_sync, the lower layer, which uses them too (see there).
from ..role_sync import CHUNK, among, batches, chunks, key_share

__all__ = [
    "CHUNK",
    "LocksMoved",
    "after_commit",
    "among",
    "batches",
    "check_lengths",
    "chunks",
    "group_name_conflict",
    "key_share",
    "lock_account",
    "lock_for_key_change",
    "lock_group",
    "lock_groups",
    "lock_user",
    "lock_users",
    "parse_id",
    "retry_locks",
    "user_name_conflict",
]

T = TypeVar("T")

# The forms RFC 4122 ids are written in: canonical or 32 hex digits, either in
# braces or after "urn:uuid:", in either case. Nothing longer: an id that does
# not parse is a 404 before it reaches a query, a log line or the audit log.
_ID = re.compile(
    r"(?:urn:uuid:)?(\{)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[0-9a-f]{32})(?(1)\})",
    re.IGNORECASE,
)


def parse_id(value: object) -> UUID | None:
    """The UUID that ``value`` spells, or None; callers use ``str()`` of it, the canonical id."""
    if isinstance(value, UUID):
        return value
    match = _ID.fullmatch(value) if isinstance(value, str) and len(value) <= 47 else None
    return UUID(match.group(2)) if match else None


def lock_group(organization: Organization, group_id: object) -> ScimGroup:
    """The group row, locked: concurrent changes of one group serialize here (level 1)."""
    pk = parse_id(group_id)
    group = (
        ScimGroup.objects.for_tenant(organization)
        .select_for_update(no_key=True)
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if group is None:
        raise NotFoundError(f'Group "{group_id}" not found.')
    group.organization = organization
    return group


def lock_groups(organization: Organization, ids: Iterable[UUID]) -> list[ScimGroup]:
    """The groups among ``ids``, locked in primary-key order (level 1)."""
    groups: list[ScimGroup] = []
    for batch in batches(sorted(set(ids))):
        groups += (
            ScimGroup.objects.for_tenant(organization)
            .select_for_update(no_key=True)
            .filter(among("pk", batch))
            .order_by("pk")
        )
    for group in groups:
        group.organization = organization
    return groups


def lock_user(organization: Organization, user_id: object) -> ScimUser:
    """The user row, locked (level 2); 404 for ids of other organizations.

    The account is not fetched alongside: ``lock_account`` locks and reads it.
    """
    pk = parse_id(user_id)
    user = (
        ScimUser.objects.for_tenant(organization)
        .select_for_update(no_key=True, of=("self",))
        .with_manager_name()
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if user is None:
        raise NotFoundError(f'User "{user_id}" not found.')
    user.organization = organization
    return user


def lock_for_key_change(model: type[models.Model], organization: Organization, pk: Any) -> None:
    """Upgrade the lock on a row about to be deleted or to change a unique column to FOR UPDATE.

    It waits for the changes that refer to the row to commit, and holds off
    new ones; where in the order to take it: see the module docstring.
    """
    rows = model._default_manager.filter(organization_id=organization.pk, pk=pk)
    list(rows.select_for_update().values_list("pk", flat=True))


def lock_users(organization: Organization, ids: Iterable[UUID]) -> set[UUID]:
    """Lock the users among ``ids`` in id order (level 2); returns the ids that are users."""
    found: set[UUID] = set()
    for batch in batches(sorted(set(ids))):
        found.update(
            ScimUser.objects.for_tenant(organization)
            .select_for_update(no_key=True)
            .filter(among("pk", batch))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return found


def lock_account(user: ScimUser) -> None:
    """Lock the user's portal account and read it afresh into ``user.account`` (level 3)."""
    if user.account_id is None:
        user.account = None
        return
    user.account = (
        get_user_model().objects.select_for_update(no_key=True).filter(pk=user.account_id).first()
    )


class LocksMoved(Exception):
    """The rows to lock changed between reading them and locking them: take the locks again."""


RETRY_ATTEMPTS = 20


def retry_locks(take: Callable[[], T]) -> T:
    """Run ``take`` until it locks a set of rows that did not move meanwhile.

    ``take`` reads which rows to lock, locks them in the lock order and reads
    again; when the second read differs it raises ``LocksMoved``, and its
    savepoint rolls back, releasing the locks it took, so the next attempt
    can take them again in order. Attempts back off with jitter, so writers
    that keep moving the rows (a busy group) let this one through; if they
    never do, the answer is a 503 with Retry-After: nothing changed, retry.
    """
    for attempt in range(RETRY_ATTEMPTS):
        try:
            with transaction.atomic():
                return take()
        except LocksMoved:
            time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
    raise ServiceUnavailableError(
        "The resource kept changing while this request ran; nothing was changed, retry it.",
        retry_after=1,
    )


def check_lengths(instance: Any, labels: dict[str, str], prefix: str = "") -> None:
    """A 400 naming the attribute for a value too long for its column, not a database error."""
    for model_field in instance._meta.concrete_fields:
        limit = getattr(model_field, "max_length", None)
        value = getattr(instance, model_field.attname)
        if limit and isinstance(value, str) and len(value) > limit:
            name = prefix + labels.get(model_field.name, model_field.name)
            raise InvalidValueError(f'"{name}" is longer than {limit} characters.')


def _is_unique_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    return type(cause).__name__ == "UniqueViolation" or "UNIQUE constraint" in str(exc)


def user_name_conflict(
    exc: IntegrityError, user_name: str, *, taken: bool = False
) -> ConflictError | None:
    """The 409 for a unique violation: the database constraint is the arbiter, not a pre-check.

    ``taken``: the caller found the userName taken in the organization.
    """
    text = str(exc)
    if taken or "axon_scim_user_name_unique" in text or "user_name_lower" in text:
        return ConflictError(f'userName "{user_name}" is already taken in this organization.')
    if _is_unique_violation(exc):  # e.g. the host already has a portal account of that name
        return ConflictError(f'userName "{user_name}" conflicts with an existing portal account.')
    return None


def group_name_conflict(exc: IntegrityError, name: str) -> ConflictError | None:
    text = str(exc)
    if "axon_scim_group_name_unique" in text or "display_name_lower" in text:
        return ConflictError(f'displayName "{name}" is already taken in this organization.')
    return None


def after_commit(
    signal: Signal, sender: type, organization: Organization, actor: Actor, **arguments: Any
) -> None:
    """Send ``signal`` once the transaction under way commits (never for a rolled-back change)."""
    if signal.has_listeners():
        transaction.on_commit(
            lambda: signal.send(sender=sender, organization=organization, actor=actor, **arguments)
        )
