"""What one leaf of a SCIM filter compares in the ORM: a column, an id, a constant...

A ``Target`` turns ``pr`` and a comparison into a ``Q`` and gives the
expression to sort by; a ``MultiValued`` attribute is a correlated queryset
of rows with one target per sub-attribute; a ``Mapping`` holds both for one
resource type. ``axon_scim.attributes`` builds the mappings from its tables
and ``axon_scim.querying`` compiles filters and sort orders against them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet, TextField, Value
from django.db.models.functions import Left, Lower, NullIf, Right, StrIndex
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)

from .models import value_digest
from .protocol.errors import InvalidFilterError
from .protocol.filter import AttrPath, Compare, matches
from .protocol.schemas import COMPLEX, Attribute, ResourceType

# Conditions that are always true / always false, written as real lookups:
# an empty Q() would vanish under negation and turn "not (id pr)" into "all rows".
ALWAYS = Q(pk__isnull=False)
NEVER = Q(pk__in=[])

_ORDER_LOOKUPS = {
    "gt": GreaterThan,
    "ge": GreaterThanOrEqual,
    "lt": LessThan,
    "le": LessThanOrEqual,
}


class Target:
    """Something a leaf of a filter compares: a column, a JSON key, a constant..."""

    def present(self) -> Q:
        raise NotImplementedError

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        raise NotImplementedError

    def sort_key(self) -> Any:
        """An expression to order by, or None when this attribute cannot be sorted on."""
        return None


@dataclass(frozen=True)
class StringTarget(Target):
    """A string column (or alias); ``lowered`` is its lower-cased copy, if the model keeps one."""

    field: str
    case_exact: bool = False
    lowered: str | None = None
    nullable: bool = False
    # An indexed column holding ``value_digest()`` of this one, for equality (long values).
    digest: str | None = None

    def _guard(self, condition: Q) -> Q:
        # A NULL column would make the leaf NULL, and NOT NULL is NULL: keep it two-valued.
        return Q(**{f"{self.field}__isnull": False}) & condition if self.nullable else condition

    def present(self) -> Q:
        return self._guard(~Q(**{self.field: ""}))

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        if op == "ne":
            return ~self.compare("eq", value, attr)
        if value == "":
            # co/sw/ew "" hold for any value; ordering against "" is decided by presence.
            return self.present() if op in ("co", "sw", "ew", "gt", "ge") else NEVER
        if op == "eq" and self.digest is not None:
            # The digest's index finds the row (a long value fits no btree entry); comparing
            # the value too keeps the answer exact should two values share a digest.
            exact = replace(self, digest=None).compare(op, value, attr)
            return Q(**{self.digest: value_digest(value)}) & exact
        if self.case_exact:
            return self._guard(self._exact_case(op, value))
        if self.lowered is not None:
            lookup = {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith"}
            column = self.lowered
            if op in _ORDER_LOOKUPS:
                return self.present() & Q(_ORDER_LOOKUPS[op](F(column), value.lower()))
            return Q(**{f"{column}__{lookup[op]}": value.lower()})
        if op in _ORDER_LOOKUPS:
            condition = Q(_ORDER_LOOKUPS[op](Lower(F(self.field)), value.lower()))
            return self.present() & condition
        lookup = {"eq": "iexact", "co": "icontains", "sw": "istartswith", "ew": "iendswith"}
        return self._guard(Q(**{f"{self.field}__{lookup[op]}": value}))

    def _exact_case(self, op: str, value: str) -> Q:
        # SQLite's LIKE ignores case, so case-exact co/sw/ew compare substrings instead.
        column = F(self.field)
        if op == "eq":
            return Q(**{self.field: value})
        if op == "co":
            return Q(GreaterThan(StrIndex(column, Value(value)), 0))
        if op == "sw":
            return Q(Exact(Left(column, len(value)), value))
        if op == "ew":
            return Q(Exact(Right(column, len(value)), value))
        return self.present() & Q(_ORDER_LOOKUPS[op](column, value))

    def sort_key(self) -> Any:
        if self.case_exact:
            expr: Any = F(self.field)
        elif self.lowered is not None:
            expr = F(self.lowered)
        else:
            expr = Lower(F(self.field))
        # An empty string is an absent value: it sorts with the NULLs, last.
        return NullIf(expr, Value(""), output_field=TextField())


@dataclass(frozen=True)
class BooleanTarget(Target):
    """A boolean column. NULL is unassigned (``nullable``: matched only by ``ne``) or ``false``."""

    field: str
    nullable: bool = False
    # ``primary`` that a client did not send counts as false (RFC 7643 section 2.4).
    null_is_false: bool = False

    def present(self) -> Q:
        return Q(**{f"{self.field}__isnull": False}) if self.nullable else ALWAYS

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        condition = Q(**{self.field: value})
        if self.null_is_false and value is False:
            condition |= Q(**{f"{self.field}__isnull": True})
        return condition if op == "eq" else ~condition

    def sort_key(self) -> Any:
        return F(self.field)


@dataclass(frozen=True)
class DateTimeTarget(Target):
    """A non-null datetime column; values arrive parsed by ``check_comparison``."""

    field: str

    def present(self) -> Q:
        return ALWAYS

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        assert isinstance(value, datetime)
        if op == "ne":
            return ~Q(**{self.field: value})
        lookup = {"eq": "exact", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}[op]
        return Q(**{f"{self.field}__{lookup}": value})

    def sort_key(self) -> Any:
        return F(self.field)


@dataclass(frozen=True)
class IdTarget(Target):
    """One or more UUID columns holding SCIM ids (``id``, ``manager.value``, ``members.value``).

    A value that is not a UUID matches nothing rather than failing: clients
    look up ids they do not know. Case-exact ids match only their canonical
    lower-case form. Only eq, ne and pr make sense on an opaque id.
    """

    fields: tuple[str, ...]
    case_exact: bool = False
    nullable: bool = False

    def present(self) -> Q:
        if not self.nullable:
            return ALWAYS
        return any_of(Q(**{f"{name}__isnull": False}) for name in self.fields)

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        if op not in ("eq", "ne"):
            raise InvalidFilterError(
                f'"{attr.name}" is an opaque identifier; filter it with eq, ne or pr, not "{op}".'
            )
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            parsed = None
        if parsed is not None and self.case_exact and str(parsed) != value:
            parsed = None
        if parsed is None:
            condition = NEVER
        else:
            condition = any_of(
                Q(**{f"{name}__isnull": False}) & Q(**{name: parsed}) for name in self.fields
            )
        return condition if op == "eq" else ~condition

    def sort_key(self) -> Any:
        return F(self.fields[0]) if len(self.fields) == 1 else None


@dataclass(frozen=True)
class ConstantTarget(Target):
    """A value the server derives rather than stores, by case.

    ``cases`` pairs a condition with the value it implies: a member is of
    type "User" when ``user_id`` is set. Each case is compared in Python with
    the same rules as ``matches``.
    """

    cases: tuple[tuple[Q, str], ...]

    def present(self) -> Q:
        return any_of(condition for condition, _ in self.cases)

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        probe = Compare(AttrPath(None, attr.name), op, value)
        holder = Attribute("constant", COMPLEX, sub_attributes=(attr,))
        return any_of(
            condition
            for condition, constant in self.cases
            if matches(probe, {attr.name: constant}, holder)
        )


@dataclass(frozen=True)
class EitherTarget(Target):
    """A sub-attribute whose column depends on the kind of row (a user or a group member)."""

    branches: tuple[tuple[Q, Target], ...]

    def present(self) -> Q:
        return any_of(guard & target.present() for guard, target in self.branches)

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        if op == "ne":
            return ~self.compare("eq", value, attr)
        return any_of(guard & target.compare(op, value, attr) for guard, target in self.branches)


@dataclass(frozen=True)
class Unsupported(Target):
    """An attribute the server keeps but cannot filter on (``password``, ``$ref``...)."""

    reason: str

    def present(self) -> Q:
        raise InvalidFilterError(self.reason)

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        raise InvalidFilterError(self.reason)


def any_of(conditions: Any) -> Q:
    """The ``|`` of ``conditions``; ``NEVER`` when there are none."""
    result: Q | None = None
    for condition in conditions:
        result = condition if result is None else result | condition
    return NEVER if result is None else result


@dataclass(frozen=True)
class MultiValued:
    """A multi-valued attribute stored as rows: a correlated queryset and one target per sub.

    ``rows()`` correlates on the outer resource; ``rows(organization_id)`` is
    every row of that organization, uncorrelated, whose ``owner`` column
    names the resource each row belongs to.
    """

    rows: Callable[..., QuerySet[Any]]
    subs: dict[str, Target]
    # The column that orders the values to find the one to sort by (primary first).
    sort_order: tuple[Any, ...] = ()
    owner: str = "user_id"

    def owners(self, organization: Any, condition: Q | None = None) -> QuerySet[Any]:
        """The ids of the organization's resources that have a row meeting ``condition``.

        Uncorrelated, so the database computes it once (a hashed set) rather
        than once per outer row, which is what ``Exists()`` costs under ``or``.
        Scoped to ``organization`` by its ``organization_id``, like every read.
        """
        rows = self.rows(organization)
        if condition is not None:
            rows = rows.filter(condition)
        return rows.values(self.owner)

    def target(self, sub: Attribute, parent: Attribute) -> Target:
        found = self.subs.get(sub.name.lower())
        if found is None:
            raise InvalidFilterError(f'"{parent.name}.{sub.name}" cannot be used in a filter.')
        return found


@dataclass(frozen=True)
class Mapping:
    """How the attributes of one resource type map onto the ORM."""

    resource: ResourceType
    # (schema id lower, attribute lower, sub lower or "") -> target
    singles: dict[tuple[str, str, str], Target]
    multis: dict[tuple[str, str], MultiValued] = field(default_factory=dict)

    def single(self, schema_id: str, attr: Attribute, sub: Attribute | None) -> Target:
        key = (schema_id.lower(), attr.name.lower(), sub.name.lower() if sub else "")
        found = self.singles.get(key)
        if found is None:
            name = f"{attr.name}.{sub.name}" if sub else attr.name
            raise InvalidFilterError(f'"{name}" cannot be used in a filter.')
        return found

    def multi(self, schema_id: str, attr: Attribute) -> MultiValued:
        found = self.multis.get((schema_id.lower(), attr.name.lower()))
        if found is None:
            raise InvalidFilterError(f'"{attr.name}" cannot be used in a filter.')
        return found


__all__ = [
    "ALWAYS",
    "NEVER",
    "BooleanTarget",
    "ConstantTarget",
    "DateTimeTarget",
    "EitherTarget",
    "IdTarget",
    "Mapping",
    "MultiValued",
    "StringTarget",
    "Target",
    "Unsupported",
    "any_of",
]
