"""Step 3 of PATCH: apply parsed operations to a copy of a resource document.

RFC 7644 sections 3.5.2.1-3.5.2.3, with the decisions listed in the package
docstring (null values, filters that match nothing, read-only attributes).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Hashable
from typing import Any

from .. import constants as c
from ..documents import check_single_primary, normalize_item
from ..errors import (
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    MutabilityError,
    NoTargetError,
)
from ..filter import And, Compare, Filter, matches
from ..schemas import COMPLEX, READ_ONLY, Attribute, ResourceType
from .parse import PatchOperation, PatchTarget, resolve_target

__all__ = ["apply_patch"]


def apply_patch(
    document: dict[str, Any],
    operations: list[PatchOperation],
    resource: ResourceType,
    *,
    max_values: int | None = None,
) -> dict[str, Any]:
    """Apply ``operations`` in order to a copy of ``document`` and return the copy.

    RFC 7644 sections 3.5.2.1-3.5.2.3. ``document`` is a full resource as the
    server renders it (core attributes at the top level, extension ones under
    their URN). The input is never modified, so a failing operation leaves
    nothing half-applied.

    With ``max_values``, an operation that grows a multi-valued attribute past
    that many values is 400 ``invalidValue`` at once, not only at the end:
    the value filters of later operations are evaluated against every value,
    so a list that could grow without bound would make their cost unbounded.
    """
    result = copy.deepcopy(document)
    # Error details name the attribute, not the position: after path-less
    # expansion, positions no longer match the request's Operations list.
    for operation in operations:
        _apply_operation(result, operation, resource, max_values)
    return result


def _apply_operation(
    document: dict[str, Any],
    operation: PatchOperation,
    resource: ResourceType,
    max_values: int | None = None,
) -> None:
    if operation.path is None:
        raise InvalidPathError("Operations must carry a path; parse them with parse_patch_request.")
    if operation.op not in c.PATCH_OPS:
        raise InvalidSyntaxError(f"Unknown PATCH op {operation.op!r}.")
    target = resolve_target(operation.path, resource)
    attr = target.attr
    if target.schema is resource.schema and attr.name == "meta":
        return  # server-managed; clients echo it back, it is never an error
    extension = target.schema is not resource.schema
    if extension:
        existing = document.get(target.schema.id)
        container = existing if isinstance(existing, dict) else {}
    else:
        container = document

    read_only = attr.mutability == READ_ONLY or (
        target.sub is not None and target.sub.mutability == READ_ONLY
    )
    if read_only:
        # Only the attribute is copied: Okta repeats ``id`` in every operation,
        # and a copy of the whole document each time would cost ops x document.
        trial = {attr.name: copy.deepcopy(container[attr.name])} if attr.name in container else {}
        _apply_to(trial, operation, target)
        if _comparable(attr, container.get(attr.name)) != _comparable(attr, trial.get(attr.name)):
            raise MutabilityError(f"'{target.label}' is read-only.")
        return  # repeats the current value: accepted, nothing to do

    had = len(_list_at(container, attr.name))
    _apply_to(container, operation, target)
    has = len(_list_at(container, attr.name))
    if max_values is not None and has > max(had, max_values):
        raise InvalidValueError(f'"{attr.name}" has {has} values; at most {max_values} are kept.')
    if attr.required and _is_empty(container.get(attr.name)):
        raise InvalidValueError(f"'{target.label}' is required and cannot be removed.")
    if extension:
        if container:
            document[target.schema.id] = container
        else:
            document.pop(target.schema.id, None)


def _apply_to(container: dict[str, Any], operation: PatchOperation, target: PatchTarget) -> None:
    """Apply one operation to the dict that holds the target attribute."""
    name = target.attr.name
    if operation.op == c.PATCH_REMOVE:
        _remove(container, target, operation.value)
    elif target.filter is not None:
        _set_filtered(container, target, operation.value)
    elif target.sub is not None:
        _set_sub(container, target, operation.value)
    elif target.attr.multi_valued:
        current = _list_at(container, name)
        if operation.op == c.PATCH_ADD:
            # RFC 7644 3.5.2.1: add appends to a multi-valued attribute, without duplicates.
            items = list(current)
            held = {_frozen(item) for item in items}
            written = [value for value in operation.value if _frozen(value) not in held]
            items.extend(copy.deepcopy(written))
            _claim_primary(target, items, items[len(current) :])
        else:
            # RFC 7644 3.5.2.3: replace without a filter replaces all values.
            items = copy.deepcopy(list(operation.value))
        _store_list(container, name, items)
    elif target.attr.type == COMPLEX:
        # RFC 7644 3.5.2.1 and 3.5.2.3: sub-attributes not given are left unchanged.
        container[name] = _merged(container.get(name), operation.value)
    else:
        container[name] = operation.value


def _set_sub(container: dict[str, Any], target: PatchTarget, value: Any) -> None:
    """``name.givenName`` or ``emails.type``: set a sub-attribute."""
    assert target.sub is not None
    name = target.attr.name
    if not target.attr.multi_valued:
        container[name] = _merged(container.get(name), {target.sub.name: value})
        return
    items = _list_at(container, name)
    if not items:
        raise NoTargetError(f"'{target.label}' has no values whose {target.sub.name} could be set.")
    for item in items:
        item[target.sub.name] = value
    _claim_primary(target, items, items)


def _merged(current: Any, update: dict[str, Any]) -> dict[str, Any]:
    """Sub-attributes of a single-valued complex value, ``update`` laid over ``current``.

    RFC 7644 3.5.2.1/3.5.2.3 keep the sub-attributes not given. A new ``value``
    (the enterprise manager's id) points at another object, though, so what
    described the old one (``displayName``, ``$ref``) is dropped with it.
    """
    merged = dict(current) if isinstance(current, dict) else {}
    if "value" in update and merged.get("value") != update["value"]:
        merged = {}
    merged.update(update)
    return merged


def _set_filtered(container: dict[str, Any], target: PatchTarget, value: Any) -> None:
    """``emails[type eq "work"]`` or ``emails[type eq "work"].value``: update matching values."""
    assert target.filter is not None
    name = target.attr.name
    items = list(_list_at(container, name))
    hits = [item for item in items if _matches(target, item)]
    if not hits:
        created = _value_from_equalities(target.filter)
        if created is None:
            raise NoTargetError(f"No value of '{target.label}' matches the path's filter.")
        # Entra adds emails[type eq "work"].value to a user without a work email.
        created = normalize_item(target.attr, created, where=target.label)
        items.append(created)
        hits = [created]
    for item in hits:
        if target.sub is not None:
            item[target.sub.name] = value
        else:
            item.update(copy.deepcopy(value))
    _claim_primary(target, items, hits)
    _store_list(container, name, items)


def _remove(container: dict[str, Any], target: PatchTarget, value: Any) -> None:
    """RFC 7644 3.5.2.2: remove an attribute, some of its values, or a sub-attribute."""
    name = target.attr.name
    current = container.get(name)
    if current is None:
        return
    if target.filter is None and target.sub is None:
        if value is not None and isinstance(current, list):
            # Remove only the listed values (Entra and OneLogin remove members this way).
            _store_list(container, name, _without(target.attr, current, value))
        else:
            del container[name]
        return
    if not isinstance(current, list):
        if target.sub is not None and isinstance(current, dict):
            remaining = {k: v for k, v in current.items() if k != target.sub.name}
            if target.is_reference_value:
                remaining = {}  # a manager without its id refers to nobody
            if remaining:
                container[name] = remaining
            else:
                del container[name]
        return
    kept = []
    for item in current:
        selected = target.filter is None or _matches(target, item)
        if not selected:
            kept.append(item)
        elif target.sub is not None:
            remaining = {k: v for k, v in item.items() if k != target.sub.name}
            if remaining:
                kept.append(remaining)
    _store_list(container, name, kept)


def _matches(target: PatchTarget, item: Any) -> bool:
    assert target.filter is not None
    return isinstance(item, dict) and matches(target.filter, item, target.attr)


def _value_from_equalities(expr: Filter) -> dict[str, Any] | None:
    """The value a filter of ``eq`` comparisons joined by ``and`` describes, else None."""
    if isinstance(expr, Compare) and expr.op == "eq" and expr.path.sub is None:
        return {expr.path.name: expr.value}
    if isinstance(expr, And):
        left = _value_from_equalities(expr.left)
        right = _value_from_equalities(expr.right)
        if left is None or right is None:
            return None
        if any(key in left and left[key] != val for key, val in right.items()):
            return None  # type eq "work" and type eq "home": no such value
        return {**left, **right}
    return None


def _claim_primary(target: PatchTarget, items: list[Any], written: list[Any]) -> None:
    """A value written with ``primary: true`` takes primary from the others (RFC 7643 2.4)."""
    claimed = [item for item in written if isinstance(item, dict) and item.get("primary") is True]
    if not claimed:
        return
    if len(claimed) > 1:
        raise InvalidValueError(f"At most one value of '{target.label}' may be primary.")
    for item in items:
        if item is not claimed[0] and isinstance(item, dict) and item.get("primary") is True:
            item["primary"] = False
    check_single_primary(target.attr, items, where=target.label)


def _without(attr: Attribute, items: list[Any], wanted: list[Any]) -> list[Any]:
    """``items`` less those that match a value of ``wanted`` (see ``_same_item``).

    The wanted values are indexed by their ``value`` sub-attribute, the way
    IdPs name the values to remove, so n values removed from m cost n + m
    comparisons rather than n x m; a wanted value without a string ``value``
    is compared with every item.
    """
    value_sub = attr.sub_attribute("value")
    fold = value_sub is not None and not value_sub.case_exact
    by_value: dict[str, list[dict[str, Any]]] = {}
    unkeyed: list[Any] = []
    for candidate in wanted:
        key = candidate.get("value") if isinstance(candidate, dict) else None
        if isinstance(key, str):
            by_value.setdefault(key.lower() if fold else key, []).append(candidate)
        else:
            unkeyed.append(candidate)

    def is_wanted(item: Any) -> bool:
        key = item.get("value") if isinstance(item, dict) else None
        keyed = by_value.get(key.lower() if fold else key, []) if isinstance(key, str) else []
        return any(_same_item(attr, candidate, item) for candidate in [*keyed, *unkeyed])

    return [item for item in items if not is_wanted(item)]


def _frozen(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value: two are equal exactly when the values are ``==``."""
    if isinstance(value, dict):
        return frozenset((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value  # type: ignore[no-any-return]


def _same_item(attr: Attribute, wanted: Any, item: Any) -> bool:
    """Does ``item`` match a value listed for removal? Every sub-attribute given must match."""
    if not isinstance(wanted, dict) or not isinstance(item, dict):
        return bool(wanted == item)
    for key, expected in wanted.items():
        actual = item.get(key)
        sub = attr.sub_attribute(key)
        if isinstance(expected, str) and isinstance(actual, str) and sub and not sub.case_exact:
            if expected.lower() != actual.lower():
                return False
        elif expected != actual:
            return False
    return True


def _list_at(container: dict[str, Any], name: str) -> list[Any]:
    current = container.get(name)
    return current if isinstance(current, list) else []


def _store_list(container: dict[str, Any], name: str, items: list[Any]) -> None:
    # RFC 7643 2.5: an empty multi-valued attribute is unassigned.
    if items:
        container[name] = items
    else:
        container.pop(name, None)


def _comparable(attr: Attribute, value: Any) -> Any:
    """A form of a read-only value that ignores order and echoed display data."""
    if _is_empty(value):
        return None
    if attr.multi_valued and isinstance(value, list):
        keyed = attr.sub_attribute("value") is not None
        return frozenset(
            json.dumps(
                item.get("value") if keyed and isinstance(item, dict) else item, sort_keys=True
            )
            for item in value
        )
    return json.dumps(value, sort_keys=True)


def _is_empty(value: Any) -> bool:
    return (
        value is None
        or value == []
        or value == {}
        or (isinstance(value, str) and not value.strip())
    )
