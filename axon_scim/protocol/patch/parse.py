"""Step 1 of PATCH: validate a PatchOp body into canonical, normalized operations.

RFC 7644 section 3.5.2. Paths are parsed (``filter.parse_path``), resolved
against the resource's schemas (``resolve_target``) and written back in the
schema's spelling; values are normalized (``documents``). Path-less
``add``/``replace`` values are expanded into one operation per attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import constants as c
from ..documents import (
    is_cleared_reference,
    normalize_document,
    normalize_item,
    normalize_simple,
    normalize_value,
)
from ..errors import (
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    NoTargetError,
    ScimError,
    TooManyError,
)
from ..filter import And, AttrPath, Compare, Filter, Not, Or, PatchPath, Present, parse_path
from ..schemas import COMPLEX, READ_ONLY, Attribute, ResourceType, Schema
from .budget import PatchMeter

__all__ = ["PatchOperation", "PatchTarget", "parse_patch_request", "resolve_target", "undeclared"]


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
class PatchTarget:
    """A PATCH path resolved against the schema: what an operation reads and writes.

    ``label`` names the attribute in error messages (URN-qualified in an extension).
    """

    schema: Schema
    attr: Attribute
    sub: Attribute | None
    filter: Filter | None
    label: str

    @property
    def is_whole(self) -> bool:
        """The whole attribute: no sub-attribute, no value filter."""
        return self.sub is None and self.filter is None

    @property
    def is_reference_value(self) -> bool:
        """The ``value`` of a single-valued complex attribute such as ``manager``."""
        return (
            self.sub is not None
            and self.sub.name == "value"
            and self.attr.type == COMPLEX
            and not self.attr.multi_valued
        )


_MISSING = object()
_RFC_SCHEMAS = frozenset(
    urn.lower() for urn in (c.USER_SCHEMA, c.ENTERPRISE_USER_SCHEMA, c.GROUP_SCHEMA)
)


def parse_patch_request(
    body: Any,
    resource: ResourceType,
    *,
    max_operations: int,
    max_cost: int | None = None,
    ignored: list[str] | None = None,
) -> list[PatchOperation]:
    """Validate a PatchOp body and return its operations, canonical and normalized.

    RFC 7644 section 3.5.2. Path-less ``add``/``replace`` operations come back
    expanded into one operation per attribute, each with a path. More than
    ``max_operations`` operations, or a cost (``budget``) over ``max_cost``,
    is 400 ``tooMany``. Operations on attributes nobody declared (``undeclared``)
    are dropped, and their names appended to ``ignored`` when it is given.
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
    meter = PatchMeter(max_cost)
    for index, raw in enumerate(raw_operations):
        try:
            parsed = _parse_operation(raw, resource, ignored)
        except ScimError as error:
            raise _at(index, error) from error
        meter.charge(index, parsed)
        operations.extend(parsed)
    return operations


def _parse_operation(
    raw: Any, resource: ResourceType, ignored: list[str] | None
) -> list[PatchOperation]:
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
        return _expand_pathless(op, value, resource, ignored)

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
        return _expand_pathless(op, {schema.id: value}, resource, ignored)

    path = parse_path(path_text)
    if _ignore(path, resource, ignored):
        return []
    target = resolve_target(path, resource)
    canonical = _canonical_path(target, resource)
    if op == c.PATCH_REMOVE:
        removal: Any = None
        if value not in (_MISSING, None) and target.attr.multi_valued and target.is_whole:
            removal = normalize_value(target.attr, value, where=target.label)
        return [PatchOperation(op, canonical, removal)]
    if value is _MISSING:
        raise InvalidValueError(f"An {op} operation needs a value.")
    return _valued_operation(op, canonical, target, value)


def _valued_operation(
    op: str, path: PatchPath, target: PatchTarget, value: Any
) -> list[PatchOperation]:
    """An add/replace with a path: normalize the value; null becomes a remove."""
    normalized = _normalize_for_target(target, value)
    if normalized is None:
        if op == c.PATCH_ADD and target.attr.multi_valued and target.is_whole:
            return []  # appending nothing
        if target.is_reference_value:
            # "manager.value": "" or null clears the manager, not just its id.
            path = PatchPath(AttrPath(path.attr.urn, path.attr.name))
        return [PatchOperation(c.PATCH_REMOVE, path, None)]
    return [PatchOperation(op, path, normalized)]


def _normalize_for_target(target: PatchTarget, value: Any) -> Any:
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


def _expand_pathless(
    op: str, value: Any, resource: ResourceType, ignored: list[str] | None
) -> list[PatchOperation]:
    """Turn a path-less add/replace into one operation per attribute (RFC 7644 3.5.2.1, 3.5.2.3)."""
    if not isinstance(value, dict):
        raise InvalidValueError(f"An {op} operation without a path needs an object value.")
    operations: list[PatchOperation] = []
    plain: dict[str, Any] = {}
    for key, item in value.items():
        if "[" in key:
            # A key that is itself a value-filter path, e.g. 'emails[type eq "work"].value'.
            path = parse_path(key)
            if _ignore(path, resource, ignored):
                continue
            target = resolve_target(path, resource)
            operations.extend(
                _valued_operation(op, _canonical_path(target, resource), target, item)
            )
        else:
            plain[key] = item
    document = normalize_document(plain, resource, for_patch_value=True, ignored=ignored)
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


def undeclared(path: PatchPath, resource: ResourceType) -> str | None:
    """The name of the undeclared attribute ``path`` targets, or None when it is declared.

    Only a URN-qualified path outside RFC 7643's schemas can name one: that is
    how identity providers send custom attributes (Entra ID's
    ``urn:...:CustomExtensionName:2.0:User:attr``), often before the portal
    declares them, and they are ignored there as in a POST or PUT. An unknown
    name in the core or enterprise schemas stays 400 ``invalidPath``: those
    schemas are fixed, so it is a client error.
    """
    urn = path.attr.urn
    if urn is None:
        return None
    schema = resource.schema_for(urn)
    if schema is None:
        return f"{urn}:{path.attr.name}"
    if schema.id.lower() in _RFC_SCHEMAS or schema.attribute(path.attr.name) is not None:
        return None
    return f"{schema.id}:{path.attr.name}"


def _ignore(path: PatchPath, resource: ResourceType, ignored: list[str] | None) -> bool:
    name = undeclared(path, resource)
    if name is not None and ignored is not None:
        ignored.append(name)
    return name is not None


def resolve_target(path: PatchPath, resource: ResourceType) -> PatchTarget:
    """Resolve a parsed path against the resource's schemas (RFC 7644 section 3.5.2).

    Unknown attributes and sub-attributes, and value filters on attributes
    that cannot take one, raise ``InvalidPathError``; the value filter comes
    back in the schema's spelling.
    """
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
    return PatchTarget(schema, attr, sub, value_filter, label)


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


def _canonical_path(target: PatchTarget, resource: ResourceType) -> PatchPath:
    urn = None if target.schema is resource.schema else target.schema.id
    sub = target.sub.name if target.sub is not None else None
    if target.filter is not None:
        return PatchPath(AttrPath(urn, target.attr.name), target.filter, sub)
    return PatchPath(AttrPath(urn, target.attr.name, sub))


def _attr_path(resource: ResourceType, schema: Schema, attr: Attribute) -> PatchPath:
    urn = None if schema is resource.schema else schema.id
    return PatchPath(AttrPath(urn, attr.name))


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
