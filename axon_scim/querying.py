"""SCIM filters and sorting as Django ORM expressions (RFC 7644 sections 3.4.2.2 and 3.4.2.3).

``compile_filter`` turns a parsed filter (axon_scim.protocol.filter) into a
``Q`` built from column lookups and ``Exists()`` subqueries, never SQL text,
and never drops a term: an attribute or operator it cannot honour raises
``InvalidFilterError``. The semantics are the ones documented in the filter
module, so that a PATCH value filter evaluated in memory and a list filter
evaluated by the database agree.

Two rules keep the SQL correct:

- Every leaf is two-valued (TRUE or FALSE, never NULL): nullable columns are
  guarded with ``IS NOT NULL``, so ``not (...)`` and ``ne`` include rows
  whose column is NULL instead of losing them to SQL's three-valued logic.
- Subqueries correlate on the outer row (``OuterRef("pk")``) and on its
  organization, so a filter never reaches rows of another organization; the
  caller still scopes the outer query with ``.for_tenant(org)``. Under
  ``or``, where PostgreSQL would run a correlated ``EXISTS`` once per row of
  the organization, a caller that passes ``organization`` gets uncorrelated
  ``pk IN (SELECT owner ... WHERE organization_id = <that organization>)``
  subqueries instead: the same rows, computed once.

Where each attribute is stored is declared once in ``axon_scim.attributes``,
which derives the ``Mapping`` of targets (``axon_scim.targets``) that a
filter or sort order of each resource type compiles against.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.models import Exists, F, Field, Func, OrderBy, Q, QuerySet, Subquery, Value
from django.db.models.lookups import GreaterThan, LessThan

from .attributes import DECLARED, filter_mapping
from .protocol import constants as c
from .protocol.errors import InvalidFilterError, InvalidValueError, UnknownAttributeError
from .protocol.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    check_comparison,
    format_path,
    is_null_test,
    operands,
    parse_attr_path,
    resolve,
    value_attribute,
)
from .protocol.schemas import COMPLEX, Attribute, ResourceType
from .targets import NEVER, Mapping, MultiValued, Target, Unsupported, any_of


def _mapping(resource: ResourceType) -> Mapping:
    if resource.name not in DECLARED:
        raise InvalidFilterError(f"{resource.name} resources cannot be filtered.")
    return _cached_mapping(resource)


# Keyed by the whole resource type: an organization's custom attributes make a type of its own.
@lru_cache(maxsize=256)
def _cached_mapping(resource: ResourceType) -> Mapping:
    return filter_mapping(resource)


# ---------------------------------------------------------------------------
# Compiling filters
# ---------------------------------------------------------------------------


def compile_filter(
    expr: Filter,
    resource: ResourceType,
    *,
    organization: Any = None,
    unknown_is_unassigned: bool = False,
) -> Q:
    """A ``Q`` selecting the rows of ``resource`` (Users or Groups) that satisfy ``expr``.

    RFC 7644 section 3.4.2.2. Raises ``InvalidFilterError`` for unknown
    attributes and for operators that make no sense for an attribute's type.
    Apply it to a queryset already scoped with ``.for_tenant(org)``, and pass
    that organization (or its id) as ``organization`` so that multi-valued
    terms under ``or`` compile to subqueries restricted to it.

    ``unknown_is_unassigned`` is for a search across resource types
    (``/.search``): there ``userName pr`` is simply false for a Group.
    """
    tenant = getattr(organization, "pk", organization)
    return _Compiler(_mapping(resource), unknown_is_unassigned, tenant).compile(expr)


class _Connectives:
    """``and``, ``or`` and ``not`` compile alike everywhere; subclasses compile the terms."""

    def compile(self, expr: Filter) -> Q:
        if isinstance(expr, And | Or):
            kind = And if isinstance(expr, And) else Or
            compiled = [self.compile(e) for e in operands(expr, kind)]
            result = compiled[0]
            for operand in compiled[1:]:
                result = result & operand if kind is And else result | operand
            return result
        if isinstance(expr, Not):
            return ~self.compile(expr.expr)
        return self.term(expr)

    def term(self, expr: Compare | Present | ValuePath) -> Q:
        raise NotImplementedError


class _Compiler(_Connectives):
    def __init__(
        self, mapping: Mapping, unknown_is_unassigned: bool = False, tenant: Any = None
    ) -> None:
        self.mapping = mapping
        self.unknown_is_unassigned = unknown_is_unassigned
        self.tenant = tenant
        self.under_or = 0  # how many ``or`` the term being compiled sits under

    def compile(self, expr: Filter) -> Q:
        if not isinstance(expr, Or):
            return super().compile(expr)
        self.under_or += 1
        try:
            return super().compile(expr)
        finally:
            self.under_or -= 1

    def some_row(self, multi: MultiValued, condition: Q | None = None) -> Q:
        """The resource has a row of ``multi`` meeting ``condition``.

        A correlated ``Exists()`` is a semi-join under ``and``; under ``or`` it
        runs per outer row, so there (tenant known) an uncorrelated ``IN``.
        """
        if self.under_or and self.tenant is not None:
            return Q(pk__in=multi.owners(self.tenant, condition))
        rows = multi.rows()
        return Q(Exists(rows if condition is None else rows.filter(condition)))

    def term(self, expr: Compare | Present | ValuePath) -> Q:
        try:
            return self.known_term(expr)
        except UnknownAttributeError:
            if not self.unknown_is_unassigned:
                raise
            # An attribute the type lacks is unassigned: only ``ne`` could hold.
            return ~NEVER if isinstance(expr, Compare) and expr.op == "ne" else NEVER

    def known_term(self, expr: Compare | Present | ValuePath) -> Q:
        if isinstance(expr, ValuePath):
            return self.value_path(expr)
        if isinstance(expr, Compare) and is_null_test(expr.op, expr.value):
            present = self.compile(Present(expr.path))
            return present if expr.op == "ne" else ~present
        return self.leaf(expr)

    def leaf(self, expr: Compare | Present) -> Q:
        schema, attr, sub = resolve(expr.path, self.mapping.resource)
        if attr.multi_valued:
            multi = self.mapping.multi(schema.id, attr)
            if sub is None and isinstance(expr, Present) and value_attribute(attr) is None:
                return self.some_row(multi)
            # ``emails co "x"`` and ``emails pr`` are about ``emails.value``; a simple
            # multi-valued attribute (a custom one) compares its values themselves.
            sub = sub or value_attribute(attr) or (attr if attr.type != COMPLEX else None)
            if sub is None:
                raise InvalidFilterError(
                    f'"{attr.name}" has no value: name a sub-attribute, e.g. "{attr.name}.type".'
                )
            inner = _condition(multi.target(sub, attr), expr, sub)
            return self.some_row(multi, inner)
        if sub is None and attr.type == COMPLEX:
            if isinstance(expr, Present):
                return any_of(
                    self.compile(Present(AttrPath(expr.path.urn, expr.path.name, s.name)))
                    for s in attr.sub_attributes
                    if self._filterable(schema.id, attr, s)
                )
            sub = value_attribute(attr)
            if sub is None:
                raise InvalidFilterError(
                    f'"{attr.name}" is complex: compare one of its sub-attributes.'
                )
        return _condition(self.mapping.single(schema.id, attr, sub), expr, sub or attr)

    def _filterable(self, schema_id: str, attr: Attribute, sub: Attribute) -> bool:
        key = (schema_id.lower(), attr.name.lower(), sub.name.lower())
        return not isinstance(self.mapping.singles.get(key, Unsupported("")), Unsupported)

    def value_path(self, expr: ValuePath) -> Q:
        schema, attr, _ = resolve(expr.path, self.mapping.resource)
        if attr.type != COMPLEX:
            raise InvalidFilterError(f'"{attr.name}" is not complex; it takes no value filter.')
        if not attr.multi_valued:
            # ``name[givenName eq "x"]`` is ``name.givenName eq "x"``.
            return self.compile(_prefix(expr.filter, expr.path))
        multi = self.mapping.multi(schema.id, attr)
        inner = _ValueCompiler(multi, attr).compile(expr.filter)
        # One Exists for the whole bracket: both conditions hold for the same value.
        return self.some_row(multi, inner)


class _ValueCompiler(_Connectives):
    """Compiles the filter inside ``attr[...]`` against the rows of one multi-valued attribute."""

    def __init__(self, multi: MultiValued, attr: Attribute) -> None:
        self.multi = multi
        self.attr = attr

    def term(self, expr: Compare | Present | ValuePath) -> Q:
        if isinstance(expr, ValuePath):
            raise InvalidFilterError("Value filters cannot be nested.")
        path = expr.path
        if path.urn is not None or path.sub is not None:
            raise InvalidFilterError(
                f'"{format_path(path)}" inside a value filter must be a plain sub-attribute name.'
            )
        sub = self.attr.sub_attribute(path.name)
        if sub is None:
            raise InvalidFilterError(f'Unknown sub-attribute "{path.name}" of "{self.attr.name}".')
        target = self.multi.target(sub, self.attr)
        if isinstance(expr, Compare) and is_null_test(expr.op, expr.value):
            present = target.present()
            return present if expr.op == "ne" else ~present
        return _condition(target, expr, sub)


def _condition(target: Target, expr: Compare | Present, attr: Attribute) -> Q:
    if isinstance(expr, Present):
        return target.present()
    if is_null_test(expr.op, expr.value):
        present = target.present()
        return present if expr.op == "ne" else ~present
    value = check_comparison(attr, expr.op, expr.value)
    return target.compare(expr.op, value, attr)


def _prefix(expr: Filter, parent: AttrPath) -> Filter:
    """Rewrite the relative paths of a value filter as sub-attributes of ``parent``."""
    if isinstance(expr, And):
        return And(_prefix(expr.left, parent), _prefix(expr.right, parent))
    if isinstance(expr, Or):
        return Or(_prefix(expr.left, parent), _prefix(expr.right, parent))
    if isinstance(expr, Not):
        return Not(_prefix(expr.expr, parent))
    if isinstance(expr, ValuePath):
        raise InvalidFilterError("Value filters cannot be nested.")
    if expr.path.urn is not None or expr.path.sub is not None:
        raise InvalidFilterError(
            f'"{format_path(expr.path)}" inside a value filter must be a plain sub-attribute name.'
        )
    path = AttrPath(parent.urn, parent.name, expr.path.name)
    return Present(path) if isinstance(expr, Present) else Compare(path, expr.op, expr.value)


# ---------------------------------------------------------------------------
# Sorting
# ---------------------------------------------------------------------------


def order_by_for(
    sort_by: str | None, sort_order: str | None, resource: ResourceType
) -> list[str | OrderBy]:
    """The ``order_by()`` arguments for ``sortBy``/``sortOrder`` (RFC 7644 section 3.4.2.3).

    Without ``sortBy`` the order is creation time. Strings sort
    case-insensitively unless caseExact; a multi-valued attribute sorts by
    its primary value, else its first; absent values sort last when
    ascending (first when descending). The list always ends with ``pk`` so
    that pages are stable. An unknown or unsortable ``sortBy``, or a
    ``sortOrder`` other than ascending/descending (any case), raises
    ``InvalidValueError`` (400 invalidValue): the RFC names no error for it,
    and the value of a parameter is what is wrong.
    """
    descending = _is_descending(sort_order)
    if not sort_by:
        if descending:
            return [F("created").desc(), F("pk").desc()]
        return ["created", "pk"]
    key = _checked_sort_key(sort_by, resource)
    ordered = key.desc(nulls_first=True) if descending else key.asc(nulls_last=True)
    return [ordered, F("pk").desc() if descending else "pk"]


def _is_descending(sort_order: str | None) -> bool:
    order = (sort_order or c.SORT_ASCENDING).lower()
    if order not in (c.SORT_ASCENDING, c.SORT_DESCENDING):
        raise InvalidValueError(
            f'sortOrder must be "ascending" or "descending", not "{sort_order}".'
        )
    return order == c.SORT_DESCENDING


def _checked_sort_key(sort_by: str, resource: ResourceType) -> Any:
    try:
        return _sort_key(parse_attr_path(sort_by), _mapping(resource))
    except InvalidFilterError as exc:
        raise InvalidValueError(f"Cannot sort by {sort_by!r}: {exc.detail}") from exc


def _sort_key(path: AttrPath, mapping: Mapping) -> Any:
    schema, attr, sub = resolve(path, mapping.resource)
    if attr.multi_valued:
        multi = mapping.multi(schema.id, attr)
        sub = sub or value_attribute(attr)
        if sub is None or not multi.sort_order:
            raise InvalidFilterError(f'"{format_path(path)}" cannot be sorted on.')
        key = multi.target(sub, attr).sort_key()
        if key is None:
            raise InvalidFilterError(f'"{format_path(path)}" cannot be sorted on.')
        rows = multi.rows().order_by(*multi.sort_order).annotate(sort_key=key)
        return Subquery(rows.values("sort_key")[:1])
    if sub is None and attr.type == COMPLEX:
        sub = value_attribute(attr)
        if sub is None:
            raise InvalidFilterError(f'"{format_path(path)}" is complex and cannot be sorted on.')
    key = mapping.single(schema.id, attr, sub).sort_key()
    if key is None:
        raise InvalidFilterError(f'"{format_path(path)}" cannot be sorted on.')
    return key


# ---------------------------------------------------------------------------
# Keyset pagination (cursor pages, RFC 9865)
# ---------------------------------------------------------------------------

#: The annotation that carries each row's sort key in a keyset page.
SORT_KEY = "scim_sort_key"


@dataclass(frozen=True)
class Keyset:
    """A sort order as keyset pagination walks it: one key expression, then ``pk``.

    ``order`` annotates each row with its key (``SORT_KEY``) and orders by
    it exactly as ``order_by_for`` does; ``after`` compares that same
    annotation, so a position and the rows after it can never disagree with
    the ORDER BY about NULLs, case or a multi-valued attribute's primary value.
    """

    key: Any
    descending: bool
    # Whether the key can be NULL (an absent value, sorted last ascending).
    nullable: bool

    def order(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        """``rows`` annotated with their sort key and ordered by (key, pk)."""
        rows = rows.annotate(**{SORT_KEY: self.key})
        key, pk = F(SORT_KEY), F("pk")
        # NULLS FIRST/LAST only where NULLs can occur: the plain order matches the index.
        nulls = {"nulls_first": True} if self.descending else {"nulls_last": True}
        modifiers = nulls if self.nullable else {}
        if self.descending:
            return rows.order_by(key.desc(**modifiers), pk.desc())
        return rows.order_by(key.asc(**modifiers), pk.asc())

    def after(self, key: Any, pk: Any) -> Q:
        """The rows strictly after the position (key, pk) in this order."""
        past = "lt" if self.descending else "gt"
        if not self.nullable:
            # A row-value comparison, which PostgreSQL answers by seeking the
            # (organization, created, id) index: the page costs the same at any depth.
            beyond = LessThan if self.descending else GreaterThan
            return Q(beyond(_row(F(SORT_KEY), F("pk")), _row(Value(key), Value(pk))))
        absent = Q(**{f"{SORT_KEY}__isnull": True})
        if key is None:
            # Absent values sort last ascending and first descending, as in order_by_for.
            later_absent = absent & Q(**{f"pk__{past}": pk})
            return later_absent | ~absent if self.descending else later_absent
        later = Q(**{f"{SORT_KEY}__{past}": key}) | Q(**{SORT_KEY: key, f"pk__{past}": pk})
        return later if self.descending else later | absent


def keyset_for(sort_by: str | None, sort_order: str | None, resource: ResourceType) -> Keyset:
    """The keyset of the order ``order_by_for`` gives; the same errors for a bad sortBy."""
    descending = _is_descending(sort_order)
    if not sort_by:
        return Keyset(F("created"), descending, nullable=False)
    return Keyset(_checked_sort_key(sort_by, resource), descending, nullable=True)


def _row(*expressions: Any) -> Func:
    """``(a, b)`` in SQL: a row value, compared column by column."""
    return Func(*expressions, function="", output_field=Field())


__all__ = ["SORT_KEY", "Keyset", "compile_filter", "keyset_for", "order_by_for"]
