"""Step 2 of PATCH: Group ``members`` operations as set operations on member ids.

The server never loads a group's members to apply these (a group can have
100,000 of them); the services apply each ``MemberChange`` to membership
rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .. import constants as c
from ..errors import InvalidPathError, InvalidValueError
from ..filter import Compare, Filter, Or
from .parse import PatchOperation

__all__ = ["MemberChange", "collapse_member_changes", "split_member_operations"]


@dataclass(frozen=True)
class MemberChange:
    """A set operation on a Group's members, by member id."""

    kind: Literal["add", "remove", "replace", "remove_all"]
    values: tuple[str, ...]


def split_member_operations(
    operations: list[PatchOperation],
) -> tuple[list[PatchOperation], list[MemberChange]]:
    """Separate Group ``members`` operations, as member-id set operations, from the others.

    RFC 7644 section 3.5.2. Only these shapes are supported (they are what
    IdPs send): add or replace ``members`` with a list of ids; remove
    ``members`` with no value (all), with a value list, or with a filter
    ``members[value eq "id"]`` (optionally joined with ``or``). Removing an id
    that is not a member is the server's no-op, not an error.
    """
    others: list[PatchOperation] = []
    changes: list[MemberChange] = []
    for operation in operations:
        path = operation.path
        if path is None or path.attr.urn is not None or path.attr.name != "members":
            others.append(operation)
            continue
        if path.attr.sub is not None or path.sub is not None:
            raise InvalidPathError(
                "Member sub-attributes cannot be changed; add or remove members."
            )
        if operation.op == c.PATCH_REMOVE:
            if path.filter is not None:
                changes.append(MemberChange("remove", _member_filter_ids(path.filter)))
            elif operation.value is None:
                changes.append(MemberChange("remove_all", ()))
            else:
                changes.append(MemberChange("remove", _member_ids(operation.value)))
            continue
        if path.filter is not None:
            raise InvalidPathError(
                f"'{operation.op}' on members takes the path 'members' and a list of members,"
                " not a filter."
            )
        kind: Literal["add", "replace"] = "add" if operation.op == c.PATCH_ADD else "replace"
        changes.append(MemberChange(kind, _member_ids(operation.value)))
    return others, changes


def collapse_member_changes(changes: list[MemberChange]) -> list[MemberChange]:
    """The same member changes as at most three set operations, with the same outcome.

    Applied in order, any sequence of changes leaves the members
    ``(current - removed) | added``, or just ``added`` once a ``replace`` or
    ``remove_all`` has reset them; the result applies exactly that, so 1,000
    operations that each add the same 80 members cost 80 lookups and inserts,
    not 80,000. Every id an ``add`` or ``replace`` names is still added first
    (and so checked: an unknown id is still 400 ``invalidValue``) even when a
    later change drops it again. One change comes back as it is.

    Example: ``[add (a, b), remove (b, c), add (a,)]`` becomes
    ``[add (a, b), remove (b, c)]``.
    """
    if len(changes) < 2:
        return list(changes)
    reset: Literal["replace", "remove_all"] | None = None
    named: dict[str, None] = {}  # ids an add or replace names, in the order first named
    added: dict[str, None] = {}
    removed: dict[str, None] = {}  # ids taken from the current members (before any reset)
    for change in changes:
        if change.kind == "add":
            named.update(dict.fromkeys(change.values))
            added.update(dict.fromkeys(change.values))
            for member_id in change.values:
                removed.pop(member_id, None)
        elif change.kind == "remove":
            for member_id in change.values:
                added.pop(member_id, None)
                if reset is None:
                    removed[member_id] = None
        else:
            named.update(dict.fromkeys(change.values))
            reset, added, removed = change.kind, dict.fromkeys(change.values), {}
    if reset is None:
        return [
            *([MemberChange("add", tuple(named))] if named else []),
            *([MemberChange("remove", tuple(removed))] if removed else []),
        ]
    dropped = tuple(member_id for member_id in named if member_id not in added)
    collapsed = [MemberChange("add", dropped)] if dropped else []
    if reset == "replace":
        return [*collapsed, MemberChange("replace", tuple(added))]
    collapsed.append(MemberChange("remove_all", ()))
    return collapsed + ([MemberChange("add", tuple(added))] if added else [])


def _member_ids(value: Any) -> tuple[str, ...]:
    """Member ids from a normalized ``members`` value: ``[{"value": id}, ...]``."""
    items = value if isinstance(value, list) else [value]
    ids: dict[str, None] = {}
    for item in items:
        member_id = item.get("value") if isinstance(item, dict) else None
        if not isinstance(member_id, str) or not member_id.strip():
            raise InvalidValueError("Each member must carry its id in 'value'.")
        ids[member_id] = None
    return tuple(ids)


def _member_filter_ids(expr: Filter) -> tuple[str, ...]:
    """Ids of ``members[value eq "a" or value eq "b"]``; any other filter is refused."""
    if isinstance(expr, Or):
        return tuple(dict.fromkeys(_member_filter_ids(expr.left) + _member_filter_ids(expr.right)))
    if (
        isinstance(expr, Compare)
        and expr.op == "eq"
        and expr.path.name == "value"
        and expr.path.sub is None
        and isinstance(expr.value, str | int)
        and not isinstance(expr.value, bool)
    ):
        return (str(expr.value),)
    raise InvalidPathError(
        'Members can be removed by id only: members[value eq "<id>"], optionally joined'
        ' with "or", or a list of {"value": "<id>"} in the operation\'s value.'
    )
