"""What the services share: id parsing, row locks, length checks, conflicts, signals after commit.

Lock order, the same in every service so that two changes never deadlock:
group rows first (``lock_group``, or by primary key when several), then user
rows (``lock_user``, or in id order when several), and the audit-chain head
last, when ``audited`` seals the transaction's events.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.dispatch import Signal

from ..audit import Actor
from ..models import Organization, ScimGroup, ScimUser
from ..protocol.errors import ConflictError, InvalidValueError, NotFoundError

# Defined in role_sync, the lower layer, which uses them too (see there).
from ..role_sync import CHUNK, chunks

__all__ = [
    "CHUNK",
    "after_commit",
    "check_lengths",
    "chunks",
    "group_name_conflict",
    "lock_group",
    "lock_user",
    "parse_id",
    "user_name_conflict",
]


def parse_id(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except (TypeError, ValueError):
        return None


def lock_user(organization: Organization, user_id: object) -> ScimUser:
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


def lock_group(organization: Organization, group_id: object) -> ScimGroup:
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


def user_name_conflict(exc: IntegrityError, user_name: str) -> ConflictError | None:
    """The 409 for a unique violation: the database constraint is the arbiter, not a pre-check."""
    text = str(exc)
    if "axon_scim_user_name_unique" in text or "user_name_lower" in text:
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
