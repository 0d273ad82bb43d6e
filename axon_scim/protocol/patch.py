"""SCIM PATCH (RFC 7644 section 3.5.2): parse a PatchOp request, apply it to a document.

Three steps, all on plain data:

1. ``parse_patch_request`` validates the body and returns a list of
   ``PatchOperation`` whose paths are resolved against the schema and spelled
   canonically, and whose values are normalized (``documents``). It absorbs
   the habits of real IdPs: capitalized ops (``"Replace"``), an
   ``operations`` key in any case, string booleans, path-less ``add`` and
   ``replace`` whose value is a dict of plain, dotted (``name.givenName``),
   URN-qualified or nested-extension keys (each key becomes an operation of
   its own), and ``null`` values.
2. ``split_member_operations`` takes the Group ``members`` operations out as
   ``MemberChange`` set operations, so the server never loads a group's
   members (a group can have 100,000 of them).
3. ``apply_patch`` applies the remaining operations, in order, to a copy of
   the resource document; an error in any operation leaves the input intact.

Decisions where the RFC is silent:

- ``null`` (RFC 7643 section 2.5: unassigned). ``replace`` with a null value
  removes the target; so does ``add`` to a single-valued target (setting a
  value to "unassigned"); ``add`` of null to a whole multi-valued attribute
  appends nothing and is dropped. A cleared reference (``manager`` sent as
  ``""`` or ``{"value": ""}``) is a ``remove`` of that attribute.
- ``add``/``replace`` without a ``value`` member: 400 ``invalidValue``;
  ``remove`` without a path: 400 ``noTarget`` (RFC 7644 section 3.5.2.2);
  an unknown op: 400 ``invalidSyntax``; more operations than allowed:
  400 ``tooMany``.
- ``remove`` on a multi-valued attribute may carry a ``value`` list: only the
  listed values are removed (the Entra and OneLogin way to remove members).
- ``add`` or ``replace`` through a value filter that matches nothing creates
  the value when the filter is a conjunction of ``eq`` comparisons (Entra's
  ``emails[type eq "work"].value``); otherwise 400 ``noTarget``. A ``remove``
  whose filter matches nothing changes nothing.
- Read-only attributes (``id``, ``groups``, read-only sub-attributes): an
  operation that would leave their value unchanged is ignored (Okta repeats
  the group's ``id`` in its rename PATCH); one that would change it is 400
  ``mutability``. ``meta`` is always ignored.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Literal

from . import constants as c
from . import filter as scim_filter
from .documents import (
    check_single_primary,
    is_cleared_reference,
    normalize_document,
    normalize_item,
    normalize_simple,
    normalize_value,
)
from .errors import (
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    MutabilityError,
    NoTargetError,
    ScimError,
    TooManyError,
)
from .filter import And, AttrPath, Compare, Filter, Not, Or, PatchPath, Present
from .schemas import COMPLEX, READ_ONLY, Attribute, ResourceType, Schema


@dataclass(frozen=True)
class PatchOperation:
    """One PATCH operation: a lower-case ``op``, a canonical ``path``, a normalized ``value``.

    ``value`` is None for ``remove`` (or, for a multi-valued attribute, the
    list of values to remove).
    """

    op: str
    path: PatchPath | None
    value: Any


@dataclass(frozen=True)
class MemberChange:
    """A set operation on a Group's members, by member id."""

    kind: Literal["add", "remove", "replace", "remove_all"]
    values: tuple[str, ...]


@dataclass(frozen=True)
class _Target:
    """A PATCH path resolved against the schema."""

    schema: Schema
    attr: Attribute
    sub: Attribute | None
    filter: Filter | None
    label: str


_MISSING = object()


def parse_patch_request(
    body: Any, resource: ResourceType, *, max_operations: int
) -> list[PatchOperation]:
    """Validate a PatchOp body and return its operations, canonical and normalized.

    RFC 7644 section 3.5.2. Path-less ``add``/``replace`` operations come back
    expanded into one operation per attribute, each with a path.
    """
    if not isinstance(body, dict):
        raise InvalidSyntaxError("The request body must be a JSON object.")
    schemas = _get(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(uri, str) and uri.lower() == c.PATCH_OP.lower() for uri in schemas
    ):
        raise InvalidSyntaxError(f"'schemas' must contain '{c.PATCH_OP}'.")
    raw_operations = _get(body, "Operations")
    if not isinstance(raw_operations, list) or not raw_operations:
        raise InvalidSyntaxError("'Operations' must be a non-empty list.")
    if len(raw_operations) > max_operations:
        raise TooManyError(
            f"A PATCH request may carry at most {max_operations} operations;"
            f" this one has {len(raw_operations)}."
        )
    operations: list[PatchOperation] = []
    for index, raw in enumerate(raw_operations):
        try:
            operations.extend(_parse_operation(raw, resource))
        except ScimError as error:
            raise _at(index, error) from error
    return operations


def apply_patch(
    document: dict[str, Any], operations: list[PatchOperation], resource: ResourceType
) -> dict[str, Any]:
    """Apply ``operations`` in order to a copy of ``document`` and return the copy.

    RFC 7644 sections 3.5.2.1-3.5.2.3. ``document`` is a full resource as the
    server renders it (core attributes at the top level, extension ones under
    their URN). The input is never modified, so a failing operation leaves
    nothing half-applied.
    """
    result = copy.deepcopy(document)
    # Error details name the attribute, not the position: after path-less
    # expansion, positions no longer match the request's Operations list.
    for operation in operations:
        _apply_operation(result, operation, resource)
    return result


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


# --- parsing ---------------------------------------------------------------------------------


def _parse_operation(raw: Any, resource: ResourceType) -> list[PatchOperation]:
    if not isinstance(raw, dict):
        raise InvalidSyntaxError("Each operation must be a JSON object.")
    op = _get(raw, "op")
    if not isinstance(op, str) or op.lower() not in c.PATCH_OPS:
        raise InvalidSyntaxError(f'Unknown PATCH op {op!r}; use "add", "remove" or "replace".')
    op = op.lower()
    path_text = _get(raw, "path")
    if (
        path_text is _MISSING
        or path_text is None
        or (isinstance(path_text, str) and not path_text.strip())
    ):
        path_text = None
    elif not isinstance(path_text, str):
        raise InvalidPathError("'path' must be a string.")
    value = _get(raw, "value")

    if path_text is None:
        if op == c.PATCH_REMOVE:
            raise NoTargetError("A remove operation needs a path.")
        if value is _MISSING:
            raise InvalidValueError(f"An {op} operation needs a value.")
        return _expand_pathless(op, value, resource)

    schema = resource.schema_for(path_text.strip())
    if schema is not None:
        # The path names a whole schema (some clients send the extension URN as path).
        if op == c.PATCH_REMOVE:
            return [
                PatchOperation(c.PATCH_REMOVE, _attr_path(resource, schema, attr), None)
                for attr in schema.attributes
                if attr.mutability != READ_ONLY
            ]
        if value is _MISSING:
            raise InvalidValueError(f"An {op} operation needs a value.")
        return _expand_pathless(op, {schema.id: value}, resource)

    path = scim_filter.parse_path(path_text)
    target = _resolve(path, resource)
    canonical = _canonical_path(target, resource)
    if op == c.PATCH_REMOVE:
        removal: Any = None
        if value not in (_MISSING, None) and target.attr.multi_valued and _is_whole(target):
            removal = normalize_value(target.attr, value, where=target.label)
        return [PatchOperation(op, canonical, removal)]
    if value is _MISSING:
        raise InvalidValueError(f"An {op} operation needs a value.")
    return _valued_operation(op, canonical, target, value)


def _valued_operation(
    op: str, path: PatchPath, target: _Target, value: Any
) -> list[PatchOperation]:
    """An add/replace with a path: normalize the value; null becomes a remove."""
    normalized = _normalize_for_target(target, value)
    if normalized is None:
        if op == c.PATCH_ADD and target.attr.multi_valued and _is_whole(target):
            return []  # appending nothing
        if _is_reference_value(target.attr, target.sub):
            # "manager.value": "" or null clears the manager, not just its id.
            path = PatchPath(AttrPath(path.attr.urn, path.attr.name))
        return [PatchOperation(c.PATCH_REMOVE, path, None)]
    return [PatchOperation(op, path, normalized)]


def _is_reference_value(attr: Attribute, sub: Attribute | None) -> bool:
    """Is ``sub`` the ``value`` of a single-valued complex attribute such as ``manager``?"""
    return (
        sub is not None and sub.name == "value" and attr.type == COMPLEX and not attr.multi_valued
    )


def _normalize_for_target(target: _Target, value: Any) -> Any:
    if value is None:
        return None
    attr = target.attr
    if target.sub is not None:
        if target.sub.name == "value" and is_cleared_reference(attr, {"value": value}):
            return None  # "manager.value": "" clears the manager
        return normalize_simple(target.sub, value, where=f"{target.label}.{target.sub.name}")
    if target.filter is not None:
        # The value replaces or merges into the matching values: one value, not a list.
        if isinstance(value, list):
            if len(value) != 1:
                raise InvalidValueError(f"'{target.label}' with a filter takes one value.")
            value = value[0]
        item = normalize_item(attr, value, where=target.label)
        if not isinstance(item, dict):
            raise InvalidValueError(f"'{target.label}' with a filter takes an object.")
        return item
    return normalize_value(attr, value, where=target.label)


def _expand_pathless(op: str, value: Any, resource: ResourceType) -> list[PatchOperation]:
    """Turn a path-less add/replace into one operation per attribute (RFC 7644 3.5.2.1, 3.5.2.3)."""
    if not isinstance(value, dict):
        raise InvalidValueError(f"An {op} operation without a path needs an object value.")
    operations: list[PatchOperation] = []
    plain: dict[str, Any] = {}
    for key, item in value.items():
        if "[" in key:
            # A key that is itself a value-filter path, e.g. 'emails[type eq "work"].value'.
            path = scim_filter.parse_path(key)
            target = _resolve(path, resource)
            operations.extend(
                _valued_operation(op, _canonical_path(target, resource), target, item)
            )
        else:
            plain[key] = item
    document = normalize_document(plain, resource, for_patch_value=True)
    for key, item in document.items():
        schema = resource.schema_for(key)
        if schema is not None and schema is not resource.schema:
            for name, sub_item in item.items():
                attr = schema.attribute(name)
                if attr is not None:
                    operations.extend(_expand_attribute(op, resource, schema, attr, sub_item))
            continue
        found = resource.resolve(None, key)
        if found is not None:
            operations.extend(_expand_attribute(op, resource, found[0], found[1], item))
    return operations


def _expand_attribute(
    op: str, resource: ResourceType, schema: Schema, attr: Attribute, value: Any
) -> list[PatchOperation]:
    """Operations for one attribute of a path-less value (already normalized)."""
    path = _attr_path(resource, schema, attr)
    if value is None:
        if op == c.PATCH_ADD and attr.multi_valued:
            return []
        return [PatchOperation(c.PATCH_REMOVE, path, None)]
    if attr.type == COMPLEX and not attr.multi_valued and isinstance(value, dict):
        if "value" in value and value["value"] is None:
            return [PatchOperation(c.PATCH_REMOVE, path, None)]  # a cleared manager
        # One operation per sub-attribute, so a null sub-attribute removes just that one.
        operations = []
        for sub_name, sub_value in value.items():
            sub_path = PatchPath(AttrPath(path.attr.urn, attr.name, sub_name))
            if sub_value is None:
                operations.append(PatchOperation(c.PATCH_REMOVE, sub_path, None))
            else:
                operations.append(PatchOperation(op, sub_path, sub_value))
        return operations
    return [PatchOperation(op, path, value)]


def _resolve(path: PatchPath, resource: ResourceType) -> _Target:
    """Resolve a parsed path against the resource's schemas (RFC 7644 section 3.5.2)."""
    found = resource.resolve(path.attr.urn, path.attr.name)
    text = _path_text(path)
    if found is None:
        raise InvalidPathError(f"'{text}' is not an attribute of {resource.name}.")
    schema, attr = found
    label = attr.name if schema is resource.schema else f"{schema.id}:{attr.name}"
    if path.attr.sub is not None and path.sub is not None:
        raise InvalidPathError(f"'{text}' names two sub-attributes.")
    sub_name = path.sub if path.sub is not None else path.attr.sub
    sub: Attribute | None = None
    if sub_name is not None:
        sub = attr.sub_attribute(sub_name) if attr.type == COMPLEX else None
        if sub is None:
            raise InvalidPathError(f"'{text}': {label} has no sub-attribute '{sub_name}'.")
    value_filter: Filter | None = None
    if path.filter is not None:
        if not attr.multi_valued or attr.type != COMPLEX:
            raise InvalidPathError(
                f"'{text}': a value filter needs a multi-valued complex attribute."
            )
        value_filter = _canonical_filter(path.filter, attr, text)
    return _Target(schema, attr, sub, value_filter, label)


def _canonical_filter(expr: Filter, attr: Attribute, text: str) -> Filter:
    """Rewrite a value filter with the schema's sub-attribute spelling; reject unknown names."""
    if isinstance(expr, Compare | Present):
        ref = expr.path
        sub = attr.sub_attribute(ref.name) if ref.urn is None and ref.sub is None else None
        if sub is None:
            raise InvalidPathError(f"'{text}': {attr.name} has no sub-attribute '{ref.name}'.")
        canonical = AttrPath(None, sub.name)
        if isinstance(expr, Compare):
            return Compare(canonical, expr.op, expr.value)
        return Present(canonical)
    if isinstance(expr, And):
        return And(
            _canonical_filter(expr.left, attr, text), _canonical_filter(expr.right, attr, text)
        )
    if isinstance(expr, Or):
        return Or(
            _canonical_filter(expr.left, attr, text), _canonical_filter(expr.right, attr, text)
        )
    if isinstance(expr, Not):
        return Not(_canonical_filter(expr.expr, attr, text))
    raise InvalidPathError(f"'{text}': value filters cannot be nested.")


def _canonical_path(target: _Target, resource: ResourceType) -> PatchPath:
    urn = None if target.schema is resource.schema else target.schema.id
    sub = target.sub.name if target.sub is not None else None
    if target.filter is not None:
        return PatchPath(AttrPath(urn, target.attr.name), target.filter, sub)
    return PatchPath(AttrPath(urn, target.attr.name, sub))


def _attr_path(resource: ResourceType, schema: Schema, attr: Attribute) -> PatchPath:
    urn = None if schema is resource.schema else schema.id
    return PatchPath(AttrPath(urn, attr.name))


def _is_whole(target: _Target) -> bool:
    return target.sub is None and target.filter is None


# --- applying --------------------------------------------------------------------------------


def _apply_operation(
    document: dict[str, Any], operation: PatchOperation, resource: ResourceType
) -> None:
    if operation.path is None:
        raise InvalidPathError("Operations must carry a path; parse them with parse_patch_request.")
    if operation.op not in c.PATCH_OPS:
        raise InvalidSyntaxError(f"Unknown PATCH op {operation.op!r}.")
    target = _resolve(operation.path, resource)
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
        trial = copy.deepcopy(container)
        _apply_to(trial, operation, target)
        if _comparable(attr, container.get(attr.name)) != _comparable(attr, trial.get(attr.name)):
            raise MutabilityError(f"'{target.label}' is read-only.")
        return  # repeats the current value: accepted, nothing to do

    _apply_to(container, operation, target)
    if attr.required and _is_empty(container.get(attr.name)):
        raise InvalidValueError(f"'{target.label}' is required and cannot be removed.")
    if extension:
        if container:
            document[target.schema.id] = container
        else:
            document.pop(target.schema.id, None)


def _apply_to(container: dict[str, Any], operation: PatchOperation, target: _Target) -> None:
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
            written = [value for value in operation.value if value not in items]
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


def _set_sub(container: dict[str, Any], target: _Target, value: Any) -> None:
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


def _set_filtered(container: dict[str, Any], target: _Target, value: Any) -> None:
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


def _remove(container: dict[str, Any], target: _Target, value: Any) -> None:
    """RFC 7644 3.5.2.2: remove an attribute, some of its values, or a sub-attribute."""
    name = target.attr.name
    current = container.get(name)
    if current is None:
        return
    if target.filter is None and target.sub is None:
        if value is not None and isinstance(current, list):
            # Remove only the listed values (Entra and OneLogin remove members this way).
            kept = [
                item for item in current if not any(_same_item(target.attr, v, item) for v in value)
            ]
            _store_list(container, name, kept)
        else:
            del container[name]
        return
    if not isinstance(current, list):
        if target.sub is not None and isinstance(current, dict):
            remaining = {k: v for k, v in current.items() if k != target.sub.name}
            if _is_reference_value(target.attr, target.sub):
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


def _matches(target: _Target, item: Any) -> bool:
    assert target.filter is not None
    return isinstance(item, dict) and scim_filter.matches(target.filter, item, target.attr)


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


def _claim_primary(target: _Target, items: list[Any], written: list[Any]) -> None:
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


# --- members ---------------------------------------------------------------------------------


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


# --- helpers ---------------------------------------------------------------------------------


def _get(mapping: dict[str, Any], key: str) -> Any:
    """``mapping[key]`` with a case-insensitive key ("Operations", "operations", "Op" ...)."""
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for candidate, value in mapping.items():
        if isinstance(candidate, str) and candidate.lower() == lowered:
            return value
    return _MISSING


def _path_text(path: PatchPath) -> str:
    prefix = f"{path.attr.urn}:" if path.attr.urn else ""
    text = f"{prefix}{path.attr.name}"
    if path.attr.sub:
        text += f".{path.attr.sub}"
    if path.filter is not None:
        text += "[...]"
    if path.sub:
        text += f".{path.sub}"
    return text


def _at(index: int, error: ScimError) -> ScimError:
    """The same error, with the failing operation's position in its detail."""
    return type(error)(f"Operations[{index}]: {error.detail}", scim_type=error.scim_type)
