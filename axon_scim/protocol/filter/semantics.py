"""What a filter means against the schemas: one set of rules for two evaluators.

``resolve`` checks a path against a resource's schemas; ``check_comparison``
checks the value compared and coerces it; ``is_null_test`` and
``value_attribute`` pick out the comparisons that are not plain ones.

Semantics that the RFC leaves open, shared by ``matches`` and the ORM
compiler (axon_scim.querying) so that both answer alike:

- ``x eq null`` and ``x eq ""`` mean "x is not present"; ``ne`` null/"" means ``x pr``.
  Present means not null, not "", not an empty list or object.
- A multi-valued attribute matches when any one of its values does; with no
  values, no comparison matches (so ``emails.type ne "home"`` needs an email).
- A single-valued attribute that is absent satisfies only ``ne``.
- The ``primary`` of a multi-valued attribute's value is false when it was
  not sent (RFC 7643 section 2.4): always present, and ``eq false``.
- ``emails co "x"`` compares ``emails.value``; a complex attribute without a
  ``value`` sub-attribute only takes ``pr`` or a value filter.
- Strings compare case-insensitively unless the attribute is caseExact;
  ``gt``/``ge``/``lt``/``le`` order strings, numbers and dateTimes (parsed);
  booleans take only ``eq``/``ne``; ``co``/``sw``/``ew`` need strings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ..errors import InvalidFilterError, UnknownAttributeError
from ..schemas import BOOLEAN, COMPLEX, DATETIME, DECIMAL, INTEGER, Attribute, ResourceType, Schema
from .nodes import STRING_OPS, AttrPath, CompValue
from .parser import format_path

__all__ = [
    "as_boolean",
    "check_comparison",
    "is_null_test",
    "parse_datetime",
    "resolve",
    "value_attribute",
]


def resolve(path: AttrPath, resource: ResourceType) -> tuple[Schema, Attribute, Attribute | None]:
    """Check ``path`` against the resource's schemas: (schema, attribute, sub-attribute or None).

    Unknown schemas, attributes and sub-attributes raise ``InvalidFilterError``
    naming them (RFC 7644 section 3.4.2.2: an unknown attribute is an
    invalidFilter, never silently ignored); PATCH callers re-raise as
    ``InvalidPathError``.
    """
    if not path.name:
        raise InvalidFilterError(f'"{path.urn}" names a schema, not an attribute.')
    if path.urn is not None and resource.schema_for(path.urn) is None:
        raise UnknownAttributeError(
            f'Unknown schema "{path.urn}" for {resource.name} resources (in "{format_path(path)}").'
        )
    found = resource.resolve(path.urn, path.name)
    if found is None:
        raise UnknownAttributeError(f'Unknown attribute "{format_path(path)}" for {resource.name}.')
    schema, attr = found
    if path.sub is None:
        return schema, attr, None
    if attr.type != COMPLEX:
        raise InvalidFilterError(f'"{attr.name}" has no sub-attributes (in "{format_path(path)}").')
    sub = attr.sub_attribute(path.sub)
    if sub is None:
        raise UnknownAttributeError(f'Unknown attribute "{format_path(path)}" for {resource.name}.')
    return schema, attr, sub


def is_null_test(op: str, value: CompValue) -> bool:
    """``eq``/``ne`` against null or "": a presence test, not a comparison.

    ``x eq null`` and ``x eq ""`` mean "x is not present", ``x ne null`` and
    ``x ne ""`` mean ``x pr``: an empty string is how an absent value is stored.
    """
    return op in ("eq", "ne") and (value is None or value == "")


def check_comparison(attr: Attribute, op: str, value: CompValue) -> CompValue | datetime:
    """Check that ``op`` and ``value`` make sense for ``attr``; return the value to compare.

    Booleans take only eq/ne (true/false, or "true"/"false" as some IdPs send),
    dateTimes take eq/ne/gt/ge/lt/le with an ISO 8601 string (returned parsed),
    numbers need a number, strings need a string. Raises ``InvalidFilterError``.
    """
    name = attr.name
    if value is None:
        raise InvalidFilterError(f'"{op} null" is not a valid comparison for "{name}".')
    if attr.type == COMPLEX:
        raise InvalidFilterError(f'"{name}" is complex: compare one of its sub-attributes.')
    if attr.type == BOOLEAN:
        if op not in ("eq", "ne"):
            raise InvalidFilterError(f'"{op}" cannot be used on the boolean "{name}".')
        coerced = as_boolean(value)
        if coerced is None:
            raise InvalidFilterError(f'"{name}" is a boolean; compare it with true or false.')
        return coerced
    if attr.type == DATETIME:
        if op in STRING_OPS:
            raise InvalidFilterError(f'"{op}" cannot be used on the dateTime "{name}".')
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise InvalidFilterError(
                f'"{name}" is a dateTime; compare it with an ISO 8601 string such as '
                f'"2024-01-31T12:00:00Z", not {_show(value)}.'
            )
        return parsed
    if attr.type in (INTEGER, DECIMAL):
        if op in STRING_OPS:
            raise InvalidFilterError(f'"{op}" cannot be used on the number "{name}".')
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidFilterError(f'"{name}" is a number; compare it with a number.')
        return value
    if not isinstance(value, str):
        raise InvalidFilterError(
            f'"{name}" is a string; compare it with a "quoted string", not {_show(value)}.'
        )
    return value


def _show(value: object) -> str:
    return json.dumps(value) if isinstance(value, str | bool | int | float) else str(value)


def as_boolean(value: object) -> bool | None:
    """A SCIM boolean: true/false, or "true"/"false" in any case as some IdPs send; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def parse_datetime(value: str) -> datetime | None:
    """An RFC 7643 section 2.3.5 dateTime as an aware datetime (naive ones are UTC), or None.

    An instant that UTC cannot write (year 1 at +01:00, year 9999 at -01:00)
    is None too: no database can compare it.
    """
    try:
        parsed = datetime.fromisoformat(value)
        aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        aware.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return aware


def value_attribute(attr: Attribute) -> Attribute | None:
    """The sub-attribute a complex attribute stands for when named alone (its ``value``).

    RFC 7644 section 3.4.2.2: ``emails co "x"`` compares ``emails.value``.
    """
    return attr.sub_attribute("value") if attr.type == COMPLEX else None
