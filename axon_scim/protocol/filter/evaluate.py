"""In-memory evaluation of a filter tree against plain dicts.

PATCH uses it to pick the values a path like ``emails[type eq "work"]``
targets; the ORM compiler uses it for values the server derives rather than
stores (a member's ``type``). It follows the rules written down in
``semantics``, as the compiler does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidFilterError
from ..schemas import BOOLEAN, COMPLEX, DATETIME, RESOURCE_TYPES, Attribute, ResourceType
from .nodes import (
    STRING_OPS,
    And,
    AttrPath,
    CompValue,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    operands,
)
from .parser import format_path
from .semantics import (
    as_boolean,
    check_comparison,
    is_null_test,
    parse_datetime,
    resolve,
    value_attribute,
)

__all__ = ["matches"]


def matches(
    expr: Filter,
    item: dict[str, Any],
    attribute: Attribute | None = None,
    *,
    resource: ResourceType | None = None,
) -> bool:
    """Whether ``item`` satisfies ``expr`` (RFC 7644 section 3.4.2.2 semantics).

    With ``attribute`` (a complex attribute such as ``emails``), ``item`` is
    one of its values and the paths in ``expr`` name its sub-attributes: this
    is how PATCH picks the targets of ``emails[type eq "work"]``. Without it,
    ``item`` is a whole resource; its type comes from ``resource`` or from
    the core schema in ``item["schemas"]``, and with no type at all every
    string compares case-insensitively. Multi-valued attributes match when
    any of their values does. Unknown attributes raise InvalidFilterError
    whenever the schema is known.
    """
    if attribute is None and resource is None:
        resource = _resource_of(item)
    evaluator = _Evaluator(attribute, resource)
    evaluator.check(expr)
    return evaluator.test(expr, item)


def _resource_of(item: dict[str, Any]) -> ResourceType | None:
    schemas = item.get("schemas")
    if not isinstance(schemas, list):
        return None
    ids = {s.lower() for s in schemas if isinstance(s, str)}
    return next((r for r in RESOURCE_TYPES if r.schema.id.lower() in ids), None)


def _get(container: object, key: str) -> Any:
    """``container[key]`` with SCIM's case-insensitive attribute names, or None."""
    if not isinstance(container, dict):
        return None
    if key in container:
        return container[key]
    lowered = key.lower()
    return next(
        (v for k, v in container.items() if isinstance(k, str) and k.lower() == lowered), None
    )


def _present(value: object) -> bool:
    return value is not None and value != "" and value != [] and value != {}


class _Evaluator:
    """Evaluates a tree against one resource dict, or against one value of ``attribute``.

    ``strict`` is False only for value filters evaluated without a schema, where
    any sub-attribute name is accepted.
    """

    def __init__(
        self, attribute: Attribute | None, resource: ResourceType | None, strict: bool = True
    ) -> None:
        self.attribute = attribute
        self.resource = resource
        self.strict = strict

    def test(self, expr: Filter, item: dict[str, Any]) -> bool:
        if isinstance(expr, And):
            return all(self.test(e, item) for e in operands(expr, And))
        if isinstance(expr, Or):
            return any(self.test(e, item) for e in operands(expr, Or))
        if isinstance(expr, Not):
            return not self.test(expr.expr, item)
        if isinstance(expr, ValuePath):
            return self.value_path(expr, item)
        values, attr = self.values(expr.path, item)
        if isinstance(expr, Present):
            return any(_present(v) for v in values)
        if is_null_test(expr.op, expr.value):
            present = any(_present(v) for v in values)
            return present if expr.op == "ne" else not present
        if expr.value is None:
            raise InvalidFilterError(f'"{expr.op} null" is not a valid comparison.')
        value: CompValue | datetime = expr.value
        if attr is not None:
            value = check_comparison(attr, expr.op, expr.value)
        return any(_compare(expr.op, v, value, attr) for v in values)

    def check(self, expr: Filter) -> None:
        """Raise whatever ``expr`` is wrong with, on any data: unknown names, bad comparisons.

        ``test`` stops early (at a false ``and`` operand, at an attribute with
        no values), so it alone would report a mistake only on some data; the
        ORM compiler checks the whole filter first, and both must agree.
        """
        if isinstance(expr, And | Or):
            for operand in operands(expr, And if isinstance(expr, And) else Or):
                self.check(operand)
        elif isinstance(expr, Not):
            self.check(expr.expr)
        elif isinstance(expr, ValuePath):
            self.value_evaluator(expr)[0].check(expr.filter)
        else:
            _, attr = self.values(expr.path, {})
            if isinstance(expr, Present) or is_null_test(expr.op, expr.value):
                return
            if expr.value is None:
                raise InvalidFilterError(f'"{expr.op} null" is not a valid comparison.')
            if attr is not None:
                check_comparison(attr, expr.op, expr.value)

    def value_evaluator(self, expr: ValuePath) -> tuple[_Evaluator, bool | None]:
        """The evaluator of the filter in ``expr``'s brackets, and whether it is multi-valued."""
        if self.attribute is not None:
            raise InvalidFilterError("Value filters cannot be nested.")
        if self.resource is None:
            return _Evaluator(Attribute(expr.path.name, COMPLEX), None, strict=False), None
        _, attr, _ = resolve(expr.path, self.resource)
        if attr.type != COMPLEX:
            raise InvalidFilterError(f'"{attr.name}" is not complex; it takes no value filter.')
        return _Evaluator(attr, None), attr.multi_valued

    def value_path(self, expr: ValuePath, item: dict[str, Any]) -> bool:
        inner, multi = self.value_evaluator(expr)
        entries = _entries(self.lookup(expr.path, item), multi)
        return any(isinstance(e, dict) and inner.test(expr.filter, e) for e in entries)

    def lookup(self, path: AttrPath, item: dict[str, Any]) -> Any:
        container: object = item
        core = self.resource.schema.id.lower() if self.resource is not None else None
        if path.urn is not None and path.urn.lower() != core:
            container = _get(item, path.urn)
        return _get(container, path.name)

    def values(self, path: AttrPath, item: dict[str, Any]) -> tuple[list[Any], Attribute | None]:
        """The candidate values a path names in ``item``, and their attribute definition."""
        if self.attribute is not None:
            return self.sub_values(path, item)
        attr = sub = None
        multi = None
        if self.resource is not None:
            _, attr, sub = resolve(path, self.resource)
            multi = attr.multi_valued
        entries = _entries(self.lookup(path, item), multi)
        sub_name = path.sub
        if sub_name is None and attr is not None and attr.type == COMPLEX:
            # ``emails co "x"`` means ``emails.value``; a complex attribute without
            # a value sub-attribute (``name``) can only be tested with pr.
            sub = value_attribute(attr)
            if sub is None:
                return entries, attr
            sub_name = sub.name
        elif sub_name is None and attr is None and any(isinstance(e, dict) for e in entries):
            sub_name = "value"
        if sub_name is None:
            return entries, attr
        return [_sub_value(e, sub_name, attr) for e in entries], sub

    def sub_values(
        self, path: AttrPath, item: dict[str, Any]
    ) -> tuple[list[Any], Attribute | None]:
        assert self.attribute is not None
        if path.urn is not None or path.sub is not None:
            raise InvalidFilterError(
                f'"{format_path(path)}" inside a value filter must be a plain sub-attribute name.'
            )
        sub = self.attribute.sub_attribute(path.name)
        if sub is None and self.strict:
            raise InvalidFilterError(
                f'Unknown sub-attribute "{path.name}" of "{self.attribute.name}".'
            )
        return [_sub_value(item, path.name, self.attribute)], sub


def _sub_value(entry: Any, name: str, attr: Attribute | None) -> Any:
    """``entry[name]``; the ``primary`` of a multi-valued attribute's value is false when
    it was not sent (RFC 7643 section 2.4), as the ORM compiler reads it too."""
    found = _get(entry, name)
    if found is None and name.lower() == "primary" and attr is not None and attr.multi_valued:
        return False if isinstance(entry, dict) else None
    return found


def _entries(raw: Any, multi: bool | None) -> list[Any]:
    """The values of an attribute: a multi-valued one has none when absent, a single one has None.

    ``multi`` None (no schema) decides by the data. A multi-valued attribute
    sent as one object (as some IdPs do) is one value.
    """
    if multi is None:
        multi = isinstance(raw, list)
    if not multi:
        return [raw]
    if raw is None:
        return []
    return raw if isinstance(raw, list) else [raw]


def _compare(op: str, candidate: Any, value: CompValue | datetime, attr: Attribute | None) -> bool:
    """One candidate value against the filter value; a missing candidate only satisfies ne."""
    if candidate is None or candidate == "":
        return op == "ne"
    kind = attr.type if attr is not None else None
    if kind == BOOLEAN or isinstance(value, bool):
        got = as_boolean(candidate)
        if op not in ("eq", "ne"):
            raise InvalidFilterError(f'"{op}" cannot be used on a boolean.')
        return (got == value) == (op == "eq") if got is not None else op == "ne"
    if kind == DATETIME or isinstance(value, datetime):
        when = (
            candidate
            if isinstance(candidate, datetime)
            else (parse_datetime(candidate) if isinstance(candidate, str) else None)
        )
        if when is None or not isinstance(value, datetime):
            return op == "ne"
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return _order(op, when, value)
    if isinstance(value, int | float):
        if op in STRING_OPS:
            raise InvalidFilterError(f'"{op}" cannot be used with a number.')
        if isinstance(candidate, bool) or not isinstance(candidate, int | float):
            return op == "ne"
        return _order(op, candidate, value)
    if not isinstance(candidate, str) or not isinstance(value, str):
        return op == "ne"
    if attr is None or not attr.case_exact:
        candidate, value = candidate.lower(), value.lower()
    if op == "co":
        return value in candidate
    if op == "sw":
        return candidate.startswith(value)
    if op == "ew":
        return candidate.endswith(value)
    return _order(op, candidate, value)


def _order(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    raise InvalidFilterError(f'"{op}" cannot compare these values.')
