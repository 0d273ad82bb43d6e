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
  caller still scopes the outer query with ``.for_tenant(org)``.

Multi-valued User attributes live in ``ScimUserValue`` rows whose
``attribute`` is the schema's attribute name (``"emails"``,
``"phoneNumbers"``...); the sub-attributes of addresses other than
type/primary live in ``extra`` under their schema names (``streetAddress``).
A member's ``display`` is its user's or group's ``displayName``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db.models import (
    Exists,
    F,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Left, Lower, NullIf, Right, StrIndex
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)

from .models import ScimMembership, ScimUserValue, value_digest
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
    matches,
    operands,
    parse_attr_path,
    resolve,
    value_attribute,
)
from .protocol.schemas import (
    COMPLEX,
    GROUP_RESOURCE,
    USER_RESOURCE,
    Attribute,
    ResourceType,
)

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


# ---------------------------------------------------------------------------
# Targets: what one attribute path compiles against
# ---------------------------------------------------------------------------


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
        return _any_of(Q(**{f"{name}__isnull": False}) for name in self.fields)

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
            condition = _any_of(
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
        return _any_of(condition for condition, _ in self.cases)

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        probe = Compare(AttrPath(None, attr.name), op, value)
        holder = Attribute("constant", COMPLEX, sub_attributes=(attr,))
        return _any_of(
            condition
            for condition, constant in self.cases
            if matches(probe, {attr.name: constant}, holder)
        )


@dataclass(frozen=True)
class _EitherTarget(Target):
    """A sub-attribute whose column depends on the kind of row (a user or a group member)."""

    branches: tuple[tuple[Q, Target], ...]

    def present(self) -> Q:
        return _any_of(guard & target.present() for guard, target in self.branches)

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        if op == "ne":
            return ~self.compare("eq", value, attr)
        return _any_of(guard & target.compare(op, value, attr) for guard, target in self.branches)


@dataclass(frozen=True)
class Unsupported(Target):
    """An attribute the server keeps but cannot filter on (``password``, ``$ref``...)."""

    reason: str

    def present(self) -> Q:
        raise InvalidFilterError(self.reason)

    def compare(self, op: str, value: Any, attr: Attribute) -> Q:
        raise InvalidFilterError(self.reason)


def _any_of(conditions: Any) -> Q:
    result: Q | None = None
    for condition in conditions:
        result = condition if result is None else result | condition
    return NEVER if result is None else result


@dataclass(frozen=True)
class MultiValued:
    """A multi-valued attribute stored as rows: a correlated queryset and one target per sub."""

    rows: Callable[[], QuerySet[Any]]
    subs: dict[str, Target]
    # The column that orders the values to find the one to sort by (primary first).
    sort_order: tuple[Any, ...] = ()

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


def _user_values(name: str, alias_keys: Sequence[str] = ()) -> Callable[[], QuerySet[Any]]:
    def rows() -> QuerySet[Any]:
        qs = ScimUserValue.objects.filter(
            organization_id=OuterRef("organization_id"), user_id=OuterRef("pk"), attribute=name
        )
        if alias_keys:
            # Text of each JSON key as a plain text expression, so that ordinary string
            # lookups apply to it rather than the JSON-aware ones of a key transform.
            qs = qs.alias(
                **{
                    f"extra_{key.lower()}": Cast(KT(f"extra__{key}"), output_field=TextField())
                    for key in alias_keys
                }
            )
        return qs

    return rows


def _value_subs(value_case_exact: bool) -> dict[str, Target]:
    return {
        "value": (
            StringTarget("value", case_exact=True, digest="value_digest")
            if value_case_exact
            else StringTarget("value", lowered="value_lower", digest="value_digest")
        ),
        "display": StringTarget("display"),
        "type": StringTarget("type"),
        "primary": BooleanTarget("primary", null_is_false=True),
    }


_ADDRESS_KEYS = ("formatted", "streetAddress", "locality", "region", "postalCode", "country")


def _user_mapping() -> Mapping:
    core, ent = c.USER_SCHEMA.lower(), c.ENTERPRISE_USER_SCHEMA.lower()
    text = {
        "displayname": "display_name",
        "nickname": "nick_name",
        "profileurl": "profile_url",
        "title": "title",
        "usertype": "user_type",
        "preferredlanguage": "preferred_language",
        "locale": "locale",
        "timezone": "timezone",
    }
    name_subs = {
        "formatted": "name_formatted",
        "familyname": "name_family",
        "givenname": "name_given",
        "middlename": "name_middle",
        "honorificprefix": "name_honorific_prefix",
        "honorificsuffix": "name_honorific_suffix",
    }
    enterprise = {
        "employeenumber": "employee_number",
        "costcenter": "cost_center",
        "organization": "enterprise_organization",
        "division": "division",
        "department": "department",
    }
    singles: dict[tuple[str, str, str], Target] = {
        (core, "username", ""): StringTarget("user_name", lowered="user_name_lower"),
        (core, "active", ""): BooleanTarget("active", nullable=True),
        (core, "password", ""): Unsupported('"password" cannot be used in a filter.'),
        **{(core, k, ""): StringTarget(v) for k, v in text.items()},
        **{(core, "name", k): StringTarget(v) for k, v in name_subs.items()},
        **{(ent, k, ""): StringTarget(v) for k, v in enterprise.items()},
        (ent, "manager", "value"): IdTarget(("manager_id",), nullable=True),
        (ent, "manager", "displayname"): StringTarget("manager__display_name", nullable=True),
        **_common_targets(core, "User"),
    }
    multis: dict[tuple[str, str], MultiValued] = {}
    value_order = (F("primary").desc(nulls_last=True), "position")
    for attr in USER_RESOURCE.schema.attributes:
        if not attr.multi_valued or attr.name in ("groups", "addresses"):
            continue
        value = attr.sub_attribute("value")
        multis[(core, attr.name.lower())] = MultiValued(
            _user_values(attr.name),
            _value_subs(bool(value and value.case_exact)),
            value_order,
        )
    address_subs: dict[str, Target] = {
        key.lower(): StringTarget(f"extra_{key.lower()}", nullable=True) for key in _ADDRESS_KEYS
    }
    address_subs["type"] = StringTarget("type")
    address_subs["primary"] = BooleanTarget("primary", null_is_false=True)
    multis[(core, "addresses")] = MultiValued(
        _user_values("addresses", _ADDRESS_KEYS), address_subs, value_order
    )
    multis[(core, "groups")] = MultiValued(
        lambda: ScimMembership.objects.filter(
            organization_id=OuterRef("organization_id"), user_id=OuterRef("pk")
        ),
        {
            "value": IdTarget(("group_id",)),
            "display": StringTarget("group__display_name", lowered="group__display_name_lower"),
            "type": ConstantTarget(((ALWAYS, "direct"),)),
            "$ref": Unsupported('"groups.$ref" cannot be used in a filter.'),
        },
    )
    return Mapping(USER_RESOURCE, singles, multis)


def _group_mapping() -> Mapping:
    core = c.GROUP_SCHEMA.lower()
    singles: dict[tuple[str, str, str], Target] = {
        (core, "displayname", ""): StringTarget("display_name", lowered="display_name_lower"),
        **_common_targets(core, "Group"),
    }
    is_user, is_group = Q(user_id__isnull=False), Q(member_group_id__isnull=False)
    members = MultiValued(
        lambda: ScimMembership.objects.filter(
            organization_id=OuterRef("organization_id"), group_id=OuterRef("pk")
        ),
        {
            "value": IdTarget(("user_id", "member_group_id"), nullable=True),
            "type": ConstantTarget(((is_user, "User"), (is_group, "Group"))),
            "display": _EitherTarget(
                (
                    (is_user, StringTarget("user__display_name", nullable=True)),
                    (is_group, StringTarget("member_group__display_name", nullable=True)),
                )
            ),
            "$ref": Unsupported('"members.$ref" cannot be used in a filter.'),
        },
    )
    return Mapping(GROUP_RESOURCE, singles, {(core, "members"): members})


def _common_targets(core: str, resource_type: str) -> dict[tuple[str, str, str], Target]:
    """``id``, ``externalId`` and ``meta`` (RFC 7643 section 3.1), shared by Users and Groups."""
    return {
        (core, "id", ""): IdTarget(("pk",), case_exact=True),
        (core, "externalid", ""): StringTarget("external_id", case_exact=True, nullable=True),
        (core, "meta", "created"): DateTimeTarget("created"),
        (core, "meta", "lastmodified"): DateTimeTarget("last_modified"),
        (core, "meta", "resourcetype"): ConstantTarget(((ALWAYS, resource_type),)),
        (core, "meta", "location"): Unsupported('"meta.location" cannot be used in a filter.'),
        (core, "meta", "version"): Unsupported('"meta.version" cannot be used in a filter.'),
    }


_MAPPINGS: dict[str, Mapping] = {}


def _mapping(resource: ResourceType) -> Mapping:
    if not _MAPPINGS:
        _MAPPINGS[USER_RESOURCE.name] = _user_mapping()
        _MAPPINGS[GROUP_RESOURCE.name] = _group_mapping()
    found = _MAPPINGS.get(resource.name)
    if found is None:
        raise InvalidFilterError(f"{resource.name} resources cannot be filtered.")
    return found


# ---------------------------------------------------------------------------
# Compiling filters
# ---------------------------------------------------------------------------


def compile_filter(
    expr: Filter, resource: ResourceType, *, unknown_is_unassigned: bool = False
) -> Q:
    """A ``Q`` selecting the rows of ``resource`` (Users or Groups) that satisfy ``expr``.

    RFC 7644 section 3.4.2.2. Raises ``InvalidFilterError`` for unknown
    attributes and for operators that make no sense for an attribute's type.
    Apply it to a queryset already scoped with ``.for_tenant(org)``.

    ``unknown_is_unassigned`` is for a search across resource types
    (``/.search``): there ``userName pr`` is simply false for a Group.
    """
    return _Compiler(_mapping(resource), unknown_is_unassigned).compile(expr)


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
    def __init__(self, mapping: Mapping, unknown_is_unassigned: bool = False) -> None:
        self.mapping = mapping
        self.unknown_is_unassigned = unknown_is_unassigned

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
                return Q(Exists(multi.rows()))
            # ``emails co "x"`` and ``emails pr`` are about ``emails.value``.
            sub = sub or value_attribute(attr)
            if sub is None:
                raise InvalidFilterError(
                    f'"{attr.name}" has no value: name a sub-attribute, e.g. "{attr.name}.type".'
                )
            inner = _condition(multi.target(sub, attr), expr, sub)
            return Q(Exists(multi.rows().filter(inner)))
        if sub is None and attr.type == COMPLEX:
            if isinstance(expr, Present):
                return _any_of(
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
        return Q(Exists(multi.rows().filter(inner)))


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
    order = (sort_order or c.SORT_ASCENDING).lower()
    if order not in (c.SORT_ASCENDING, c.SORT_DESCENDING):
        raise InvalidValueError(
            f'sortOrder must be "ascending" or "descending", not "{sort_order}".'
        )
    descending = order == c.SORT_DESCENDING
    if not sort_by:
        if descending:
            return [F("created").desc(), F("pk").desc()]
        return ["created", "pk"]
    try:
        key = _sort_key(parse_attr_path(sort_by), _mapping(resource))
    except InvalidFilterError as exc:
        raise InvalidValueError(f"Cannot sort by {sort_by!r}: {exc.detail}") from exc
    ordered = key.desc(nulls_first=True) if descending else key.asc(nulls_last=True)
    return [ordered, F("pk").desc() if descending else "pk"]


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


__all__ = ["compile_filter", "order_by_for"]
