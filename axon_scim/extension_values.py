"""Values of custom (extension) attributes: typed rows in, SCIM JSON out, and filter targets.

The schemas come from ``axon_scim.extensions``; every value is one
``ScimExtensionValue`` row whose key is ``<URN>:<attribute>`` (or
``...:<attribute>.<sub>`` for a sub-attribute), with the value in the column
of its type. Filters compile to ``Exists()`` over those rows, through the
same indexes that ``emails`` use (``value_digest`` for text, the typed
column for numbers and dateTimes); single-valued attributes sort by a
subquery.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.dateparse import parse_datetime

from .conf import scim_settings
from .extension_models import ScimExtensionValue
from .extensions import custom_schemas
from .protocol.errors import InvalidValueError, MutabilityError
from .protocol.schemas import (
    BOOLEAN,
    COMPLEX,
    DATETIME,
    DECIMAL,
    IMMUTABLE,
    INTEGER,
    NEVER,
    READ_ONLY,
    READ_WRITE,
    WRITE_ONLY,
    Attribute,
    ResourceType,
    Schema,
)
from .targets import BooleanTarget, DateTimeTarget, MultiValued, StringTarget, Target

Rows = Callable[..., QuerySet[Any]]


def attribute_key(schema: Schema, attr: Attribute, sub: Attribute | None = None) -> str:
    """The ``key`` of the rows holding ``attr`` (or its ``sub``) of ``schema``."""
    return f"{schema.id}:{attr.name}" + (f".{sub.name}" if sub is not None else "")


# ---------------------------------------------------------------------------
# Documents to rows
# ---------------------------------------------------------------------------


def extension_rows(
    doc: dict[str, Any],
    resource: ResourceType,
    previous: Sequence[ScimExtensionValue] | None = None,
    *,
    replacing: bool = True,
) -> list[ScimExtensionValue]:
    """The rows that store the custom attributes of a normalized document (unsaved, unowned).

    Raises ``InvalidValueError`` (400 invalidValue) naming the attribute whose
    value does not fit its type or its ``canonicalValues``. ``previous``, the
    rows stored before this write (None for a creation), settles mutability
    (``settle_mutability``); ``replacing`` is true for a PUT, false for a PATCH.
    """
    rows: list[ScimExtensionValue] = []
    for schema in custom_schemas(resource):
        container = doc.get(schema.id) or {}
        for attr in schema.attributes:
            value = container.get(attr.name)
            if value is None:
                continue
            items = value if attr.multi_valued else [value]
            if len(items) > scim_settings.MAX_VALUES_PER_ATTRIBUTE:
                raise InvalidValueError(f'"{schema.id}:{attr.name}" has too many values.')
            for position, item in enumerate(items):
                rows.extend(_item_rows(schema, attr, item, position))
    return settle_mutability(rows, previous or [], resource, replacing=replacing)


def _item_rows(
    schema: Schema, attr: Attribute, item: Any, position: int
) -> list[ScimExtensionValue]:
    if attr.type != COMPLEX:
        return [_typed_row(attr, item, attribute_key(schema, attr), position)]
    rows = []
    for sub in attr.sub_attributes:
        if item.get(sub.name) is not None:
            key = attribute_key(schema, attr, sub)
            rows.append(_typed_row(sub, item[sub.name], key, position))
    return rows


def _typed_row(attr: Attribute, value: Any, key: str, position: int) -> ScimExtensionValue:
    """One row with ``value`` in the column of ``attr``'s type, checked against that type."""
    _check_canonical(attr, value, key)
    row = ScimExtensionValue(key=key, position=position)
    where = key
    if attr.type == BOOLEAN:
        row.boolean = bool(value)
    elif attr.type in (INTEGER, DECIMAL):
        row.number = _number(value, where)
    elif attr.type == DATETIME:
        row.moment = _moment(value, where)
    else:
        limit = scim_settings.MAX_CUSTOM_VALUE_LENGTH
        if len(value) > limit:
            raise InvalidValueError(f"'{where}' is longer than {limit} characters.")
        row.text = value
    row.derive_lookup_columns()
    return row


# The column's scale, and a bound that SQLite's float storage cannot round up past the
# column's 28 integer digits (28 nines were read back as 1e28, which failed every read).
_SCALE = Decimal("1e-12")
_NUMBER_BOUND = 10**27


def _number(value: Any, where: str) -> Decimal:
    """``value`` as the column stores it (12 decimal places), so a read answers what a write did."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or abs(number) >= _NUMBER_BOUND:
        raise InvalidValueError(f"'{where}' must be a finite number below 10^27 in magnitude.")
    return number.quantize(_SCALE, context=Context(prec=40))


# The canonical values an error names at most.
_LISTED = 20


def _check_canonical(attr: Attribute, value: Any, where: str) -> None:
    """A declared ``canonicalValues`` list is the only values accepted (case per caseExact).

    Only custom attributes reach here: the RFC's own lists (``emails.type``
    ...) stay suggestions, as RFC 7643 section 7 has them.
    """
    if not attr.canonical_values or not isinstance(value, str):
        return
    allowed = attr.canonical_values
    if value in allowed or (not attr.case_exact and value.lower() in {v.lower() for v in allowed}):
        return
    listed = ", ".join(f'"{v}"' for v in allowed[:_LISTED])  # a host's list may be long
    listed += f" ... ({len(allowed)} values)" if len(allowed) > _LISTED else ""
    raise InvalidValueError(f"'{where}' must be one of {listed}, not \"{value[:40]}\".")


def _moment(value: Any, where: str) -> datetime:
    # parse_datetime raises ValueError for a well-formed but impossible date
    # (month 13); a moment beyond year 1..9999 once in UTC cannot be stored.
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is not None:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        pass
    raise InvalidValueError(
        f"'{where}' must be an ISO 8601 dateTime such as \"2024-01-31T12:00:00Z\"."
    )


# ---------------------------------------------------------------------------
# Mutability (RFC 7643 section 2.2, RFC 7644 section 3.5.1)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """The row keys one mutability covers: an attribute's (all its sub-attributes') or one sub's."""

    keys: frozenset[str]
    mutability: str
    case_exact: bool
    label: str


def _units(resource: ResourceType) -> list[_Unit]:
    """The keys of ``resource``'s custom attributes that are not plain readWrite."""
    units = []
    for schema in custom_schemas(resource):
        for attr in schema.attributes:
            label = f"{schema.id}:{attr.name}"
            if attr.mutability != READ_WRITE:
                keys = [attribute_key(schema, attr, sub) for sub in attr.sub_attributes] or [
                    attribute_key(schema, attr)
                ]
                units.append(_Unit(frozenset(keys), attr.mutability, attr.case_exact, label))
                continue
            for sub in attr.sub_attributes:
                if sub.mutability != READ_WRITE:
                    key = attribute_key(schema, attr, sub)
                    units.append(_Unit(frozenset([key]), sub.mutability, sub.case_exact, key))
    return units


def settle_mutability(
    rows: list[ScimExtensionValue],
    previous: Sequence[ScimExtensionValue],
    resource: ResourceType,
    *,
    replacing: bool,
) -> list[ScimExtensionValue]:
    """``rows`` with the mutability of their attributes applied against the ``previous`` ones.

    - readOnly: the stored values stay, whatever the client sent (RFC 7643
      section 2.2: ignored on input); on creation there are none.
    - immutable: set when it has no value yet (creation included); once set,
      a write must send it unchanged (a PUT may also leave it out, RFC 7644
      section 3.5.1), else 400 ``mutability``. A removal is a change.
    - writeOnly: a PUT that leaves it out keeps it, since a client can never
      read it back to repeat it; a PATCH removes it only by naming it (the
      PATCH works on ``render_extensions(..., write_only=True)``).
    """
    kept = list(rows)
    for unit in _units(resource):
        old = [row for row in previous if row.key in unit.keys]
        new = [row for row in kept if row.key in unit.keys]
        keep_old = unit.mutability == READ_ONLY or (
            replacing and not new and unit.mutability in (IMMUTABLE, WRITE_ONLY)
        )
        if unit.mutability == IMMUTABLE and old and not keep_old:
            if _state(old, unit.case_exact) != _state(new, unit.case_exact):
                raise MutabilityError(f"'{unit.label}' is immutable: its value cannot change.")
            keep_old = True  # the same value again: the stored spelling stays
        if keep_old:
            kept = [row for row in kept if row.key not in unit.keys] + [_copy(r) for r in old]
    return kept


def _state(rows: Sequence[ScimExtensionValue], case_exact: bool) -> list[tuple[Any, ...]]:
    texts = [row.text if case_exact else row.text_lower for row in rows]
    return sorted(
        (row.key, row.position, text, row.number, row.boolean, row.moment)
        for row, text in zip(rows, texts, strict=True)
    )


def _copy(row: ScimExtensionValue) -> ScimExtensionValue:
    """An unsaved copy of a stored row (the stored ones are deleted before the new are written)."""
    copied = ScimExtensionValue(
        key=row.key,
        position=row.position,
        text=row.text,
        number=row.number,
        boolean=row.boolean,
        moment=row.moment,
    )
    copied.derive_lookup_columns()
    return copied


# ---------------------------------------------------------------------------
# Rows to documents
# ---------------------------------------------------------------------------


def render_extensions(
    doc: dict[str, Any],
    rows: Iterable[ScimExtensionValue],
    resource: ResourceType,
    *,
    write_only: bool = False,
) -> None:
    """Add the custom attributes held by ``rows`` to ``doc`` under their URNs (and ``schemas``).

    Rows of attributes no longer declared (a deleted definition) are skipped.
    ``write_only=True`` keeps write-only values too: the document a PATCH
    starts from must, or the PATCH would drop them.
    """
    by_key: dict[str, list[ScimExtensionValue]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    for schema in custom_schemas(resource):
        values = {}
        for attr in schema.attributes:
            value = _attribute_value(schema, attr, by_key, write_only)
            if value is not None:
                values[attr.name] = value
        if values:
            listed = doc.setdefault("schemas", [])
            if schema.id not in listed:
                listed.append(schema.id)
            doc[schema.id] = values


def _attribute_value(
    schema: Schema, attr: Attribute, by_key: dict[str, list[ScimExtensionValue]], write_only: bool
) -> Any:
    if attr.returned == NEVER and not write_only:
        return None
    if attr.type != COMPLEX:
        items = [_json(attr, row) for row in by_key.get(attribute_key(schema, attr), ())]
    else:
        merged: dict[int, dict[str, Any]] = defaultdict(dict)
        for sub in attr.sub_attributes:
            if sub.returned == NEVER and not write_only:
                continue
            for row in by_key.get(attribute_key(schema, attr, sub), ()):
                merged[row.position][sub.name] = _json(sub, row)
        items = [merged[position] for position in sorted(merged)]
    if not items:
        return None
    return items if attr.multi_valued else items[0]


def _json(attr: Attribute, row: ScimExtensionValue) -> Any:
    if attr.type == BOOLEAN:
        return row.boolean
    if attr.type == INTEGER and row.number is not None:
        return int(row.number)
    if attr.type == DECIMAL and row.number is not None:
        return float(row.number)
    if attr.type == DATETIME and row.moment is not None:
        return row.moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return row.text


def load_extension_rows(
    organization_id: int, owner: str, ids: list[Any]
) -> dict[Any, list[ScimExtensionValue]]:
    """The extension rows of the users (``owner="user_id"``) or groups ``ids``, in one query."""
    found: dict[Any, list[ScimExtensionValue]] = defaultdict(list)
    rows = ScimExtensionValue.objects.filter(organization_id=organization_id)
    for row in rows.filter(**{f"{owner}__in": ids}).order_by(owner, "key", "position"):
        found[getattr(row, owner)].append(row)
    return dict(found)


def row_state(rows: Iterable[ScimExtensionValue]) -> list[tuple[Any, ...]]:
    """What the rows store, comparable: equal states mean nothing changed."""
    return sorted(
        (row.key, row.position, row.text, row.number, row.boolean, row.moment) for row in rows
    )


# ---------------------------------------------------------------------------
# Filter targets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberTarget(Target):
    """The ``number`` column of extension rows (integers and decimals)."""

    field: str = "number"

    def present(self) -> Q:
        return Q(**{f"{self.field}__isnull": False})

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        number = Decimal(str(value))
        if op == "ne":
            return ~Q(**{self.field: number})
        lookup = {"eq": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}[op]
        return Q(**{f"{self.field}__{lookup}": number})

    def sort_key(self) -> Any:
        from django.db.models import F

        return F(self.field)


def _column_target(attr: Attribute) -> Target:
    """How a filter compares one extension row's value, by the attribute's type."""
    if attr.type == BOOLEAN:
        return BooleanTarget("boolean")
    if attr.type in (INTEGER, DECIMAL):
        return NumberTarget()
    if attr.type == DATETIME:
        return DateTimeTarget("moment")
    return StringTarget(
        "text", case_exact=attr.case_exact, lowered="text_lower", digest="value_digest"
    )


@dataclass(frozen=True)
class RowsTarget(Target):
    """A condition on some of the correlated rows: true when one of them satisfies it.

    ``ne`` is the negation of ``eq``, so an attribute without a value is
    ``ne`` anything (RFC 7644 section 3.4.2.2).
    """

    rows: Rows
    inner: Target

    def present(self) -> Q:
        return Q(Exists(self.rows()))

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        if op == "ne":
            return ~self.compare("eq", value, attr)
        return Q(Exists(self.rows().filter(self.inner.compare(op, value, attr))))

    def sort_key(self) -> Any:
        key = self.inner.sort_key()
        rows = self.rows().order_by("position").annotate(sort_key=key)
        return Subquery(rows.values("sort_key")[:1])


def _rows(owner: str, keys: list[str], sibling: bool = False) -> Rows:
    def rows(organization_id: Any = None) -> QuerySet[Any]:
        if organization_id is not None and not sibling:
            # Uncorrelated: the organization's rows, whose ``owner`` names their resource
            # (``MultiValued.owners``, for conditions under ``or``).
            return ScimExtensionValue.objects.filter(organization_id=organization_id, key__in=keys)
        correlated = {owner: OuterRef(owner if sibling else "pk")}
        if sibling:
            correlated["position"] = OuterRef("position")
        return ScimExtensionValue.objects.filter(
            organization_id=OuterRef("organization_id"), key__in=keys, **correlated
        )

    return rows


def extension_targets(
    resource: ResourceType,
    owner: str,
    singles: dict[tuple[str, str, str], Target],
    multis: dict[tuple[str, str], MultiValued],
) -> None:
    """Add the filter targets of ``resource``'s custom attributes to a mapping's tables."""
    for schema in custom_schemas(resource):
        # A writeOnly value is never returned: like password, no filter or order may read it.
        for attr in (a for a in schema.attributes if a.returned != NEVER):
            key = (schema.id.lower(), attr.name.lower())
            own = attribute_key(schema, attr)
            if attr.type != COMPLEX:
                if attr.multi_valued:
                    subs = {attr.name.lower(): _column_target(attr)}
                    multis[key] = MultiValued(_rows(owner, [own]), subs, owner=owner)
                else:
                    singles[(*key, "")] = RowsTarget(_rows(owner, [own]), _column_target(attr))
                continue
            sub_keys = {s.name.lower(): attribute_key(schema, attr, s) for s in attr.sub_attributes}
            if not attr.multi_valued:
                for sub in (s for s in attr.sub_attributes if s.returned != NEVER):
                    rows = _rows(owner, [sub_keys[sub.name.lower()]])
                    singles[(*key, sub.name.lower())] = RowsTarget(rows, _column_target(sub))
                continue
            # One Exists per value: its sub-attributes are sibling rows at the same position.
            subs = {
                sub.name.lower(): RowsTarget(
                    _rows(owner, [sub_keys[sub.name.lower()]], sibling=True), _column_target(sub)
                )
                for sub in attr.sub_attributes
            }
            multis[key] = MultiValued(_rows(owner, list(sub_keys.values())), subs, owner=owner)


__all__ = [
    "attribute_key",
    "extension_rows",
    "extension_targets",
    "load_extension_rows",
    "render_extensions",
    "row_state",
    "settle_mutability",
]
