"""Each SCIM attribute of Users and Groups declared once, with where the server keeps it.

One line of ``USER_ATTRIBUTES`` or ``GROUP_ATTRIBUTES`` names an attribute by
its schema URN and path (``"name.givenName"``) and says how it is stored:

- ``Column``: a column of the resource's row, or one reached through a
  relation (``manager__display_name``); ``lowered`` names a lower-cased copy
  kept for case-insensitive lookups. A User column without a ``hook`` is
  rendered and stored by the column loop of ``axon_scim.rendering``, so a
  new simple string attribute is one ``Column`` line (and its model field).
- ``IdColumns``: UUID columns holding SCIM ids (``id``, ``manager.value``).
- ``ValueRows``: a multi-valued User attribute kept as ``ScimUserValue`` rows.
- ``Memberships``: a multi-valued attribute kept as ``ScimMembership`` rows;
  its sub-attributes are declared on lines of their own.
- ``Special``: what no plain column holds: a constant by case, or something
  no filter may use (``password``, a ``$ref`` built from an id).

Types and ``caseExact`` come from the protocol schemas, never retyped here,
and ``tests/test_attributes.py`` checks that the tables and the schemas
agree. Sorting follows the storage: columns and ids sort, value rows sort by
their primary value (else their first), memberships and ``Special``
attributes do not. ``filter_mapping`` derives the filter targets of
``axon_scim.querying`` from these tables; ``loop_columns`` and
``value_row_attributes`` derive the tables of ``axon_scim.rendering``.
Custom (extension) attributes are declared in settings or by an organization,
not here: ``axon_scim.extension_values`` adds their targets to the mapping.

Multi-valued User attributes live in ``ScimUserValue`` rows whose
``attribute`` is the schema's attribute name (``"emails"``,
``"phoneNumbers"``...); the sub-attributes of addresses other than
type/primary live in ``extra`` under their schema names (``streetAddress``).
A member's ``display`` is its user's or group's ``displayName``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from .extension_values import extension_targets
from .models import ScimMembership, ScimUserValue
from .protocol import constants as c
from .protocol.schemas import (
    BOOLEAN,
    DATETIME,
    GROUP_RESOURCE,
    USER_RESOURCE,
    Attribute,
    ResourceType,
)
from .targets import (
    ALWAYS,
    BooleanTarget,
    ConstantTarget,
    DateTimeTarget,
    EitherTarget,
    IdTarget,
    Mapping,
    MultiValued,
    StringTarget,
    Target,
    Unsupported,
)

# Sub-attributes with a column of their own on ScimUserValue; the rest go to ``extra``.
VALUE_COLUMNS = ("value", "type", "display", "primary")
# The value a multi-valued attribute sorts by: the primary one, else the first sent.
VALUE_ORDER = (F("primary").desc(nulls_last=True), "position")


@dataclass(frozen=True)
class Column:
    """A simple attribute in a column of the resource's row, or of a related row.

    ``hook`` names the code of ``axon_scim.rendering`` that renders it by
    hand; without one, the column loop renders and stores it.
    """

    schema: str
    path: str
    column: str
    lowered: str | None = None
    nullable: bool = False
    hook: str = ""

    def filter_target(self, attr: Attribute) -> Target:
        """How a filter compares the column: by the schema's type and ``caseExact``."""
        if attr.type == BOOLEAN:
            return BooleanTarget(self.column, nullable=self.nullable)
        if attr.type == DATETIME:
            return DateTimeTarget(self.column)
        return StringTarget(
            self.column, case_exact=attr.case_exact, lowered=self.lowered, nullable=self.nullable
        )


@dataclass(frozen=True)
class IdColumns:
    """UUID columns holding a SCIM id; a member's is in one of two, by its kind."""

    schema: str
    path: str
    columns: tuple[str, ...]
    nullable: bool = False

    def filter_target(self, attr: Attribute) -> Target:
        """How a filter compares the id, with the schema's ``caseExact``."""
        return IdTarget(self.columns, case_exact=attr.case_exact, nullable=self.nullable)


@dataclass(frozen=True)
class Special:
    """An attribute no plain column holds; ``target`` None means no filter may use it."""

    schema: str
    path: str
    target: Target | None = None

    def filter_target(self, attr: Attribute) -> Target:
        """``target``, or one that refuses every filter."""
        if self.target is None:
            return Unsupported(f'"{self.path}" cannot be used in a filter.')
        return self.target


@dataclass(frozen=True)
class ValueRows:
    """A multi-valued User attribute kept as ``ScimUserValue`` rows (see ``VALUE_COLUMNS``)."""

    schema: str
    path: str

    def multi_valued(self, attr: Attribute) -> MultiValued:
        """The correlated rows of ``attr`` with one target per sub-attribute of the schema."""
        extra_keys = tuple(s.name for s in attr.sub_attributes if s.name not in VALUE_COLUMNS)
        subs = {sub.name.lower(): _value_target(sub) for sub in attr.sub_attributes}
        return MultiValued(_user_values(attr.name, extra_keys), subs, VALUE_ORDER)


@dataclass(frozen=True)
class Memberships:
    """A multi-valued attribute kept as ``ScimMembership`` rows whose ``owner`` is the resource."""

    schema: str
    path: str
    owner: str

    def rows(self, organization: Any = None) -> QuerySet[Any]:
        """The membership rows of the outer resource, in its organization only.

        With ``organization`` (an id), the rows of every resource of that
        organization instead, uncorrelated (see ``MultiValued.owners``).
        """
        if organization is not None:
            return ScimMembership.objects.filter(
                organization_id=organization, **{f"{self.owner}__isnull": False}
            )
        return ScimMembership.objects.filter(
            organization_id=OuterRef("organization_id"), **{self.owner: OuterRef("pk")}
        )


Declaration = Column | IdColumns | Special | ValueRows | Memberships


def _value_target(sub: Attribute) -> Target:
    """How a filter compares one sub-attribute of value rows: a row column or an ``extra`` key."""
    if sub.name == "primary":
        return BooleanTarget("primary", null_is_false=True)
    if sub.name == "value":
        return StringTarget(
            "value", case_exact=sub.case_exact, lowered="value_lower", digest="value_digest"
        )
    if sub.name in VALUE_COLUMNS:
        return StringTarget(sub.name, case_exact=sub.case_exact)
    # A key the client did not send reads as NULL.
    return StringTarget(f"extra_{sub.name.lower()}", case_exact=sub.case_exact, nullable=True)


def _user_values(name: str, alias_keys: Sequence[str] = ()) -> Callable[..., QuerySet[Any]]:
    def rows(organization: Any = None) -> QuerySet[Any]:
        # Correlated on the outer user, or (given an organization id) every user's rows in it.
        if organization is None:
            qs = ScimUserValue.objects.filter(
                organization_id=OuterRef("organization_id"), user_id=OuterRef("pk"), attribute=name
            )
        else:
            qs = ScimUserValue.objects.filter(organization_id=organization, attribute=name)
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


def _common(schema: str, resource_type: str) -> tuple[Declaration, ...]:
    """``id`` and ``meta`` (RFC 7643 section 3.1), alike for Users and Groups."""
    return (
        IdColumns(schema, "id", ("pk",)),
        Column(schema, "meta.created", "created", hook="meta"),
        Column(schema, "meta.lastModified", "last_modified", hook="meta"),
        Special(schema, "meta.resourceType", ConstantTarget(((ALWAYS, resource_type),))),
        Special(schema, "meta.location"),
        Special(schema, "meta.version"),
    )


USER, ENTERPRISE, GROUP = c.USER_SCHEMA, c.ENTERPRISE_USER_SCHEMA, c.GROUP_SCHEMA

# In this order the column loop renders them.
USER_ATTRIBUTES: tuple[Declaration, ...] = (
    Column(USER, "userName", "user_name", lowered="user_name_lower"),
    Column(USER, "externalId", "external_id", nullable=True),
    Column(USER, "displayName", "display_name"),
    Column(USER, "nickName", "nick_name"),
    Column(USER, "profileUrl", "profile_url"),
    Column(USER, "title", "title"),
    Column(USER, "userType", "user_type"),
    Column(USER, "preferredLanguage", "preferred_language"),
    Column(USER, "locale", "locale"),
    Column(USER, "timezone", "timezone"),
    Column(USER, "name.formatted", "name_formatted"),
    Column(USER, "name.familyName", "name_family"),
    Column(USER, "name.givenName", "name_given"),
    Column(USER, "name.middleName", "name_middle"),
    Column(USER, "name.honorificPrefix", "name_honorific_prefix"),
    Column(USER, "name.honorificSuffix", "name_honorific_suffix"),
    Column(USER, "active", "active", nullable=True, hook="UserRenderer"),
    Special(USER, "password"),  # handed to the adapter for the account; never rendered
    ValueRows(USER, "emails"),
    ValueRows(USER, "phoneNumbers"),
    ValueRows(USER, "ims"),
    ValueRows(USER, "photos"),
    ValueRows(USER, "addresses"),
    ValueRows(USER, "entitlements"),
    ValueRows(USER, "roles"),
    ValueRows(USER, "x509Certificates"),
    Memberships(USER, "groups", owner="user_id"),
    IdColumns(USER, "groups.value", ("group_id",)),
    Column(
        USER,
        "groups.display",
        "group__display_name",
        lowered="group__display_name_lower",
        hook="UserRenderer",
    ),
    Special(USER, "groups.type", ConstantTarget(((ALWAYS, "direct"),))),
    Special(USER, "groups.$ref"),
    Column(ENTERPRISE, "employeeNumber", "employee_number"),
    Column(ENTERPRISE, "costCenter", "cost_center"),
    Column(ENTERPRISE, "organization", "enterprise_organization"),
    Column(ENTERPRISE, "division", "division"),
    Column(ENTERPRISE, "department", "department"),
    IdColumns(ENTERPRISE, "manager.value", ("manager_id",), nullable=True),
    Column(
        ENTERPRISE,
        "manager.displayName",
        "manager__display_name",
        nullable=True,
        hook="UserRenderer",
    ),
    *_common(USER, "User"),
)

# Whether a membership row holds a user or a group (a check constraint makes it exactly one).
_IS_USER, _IS_GROUP = Q(user_id__isnull=False), Q(member_group_id__isnull=False)

# Groups are stored by the group services; GroupRenderer renders them.
GROUP_ATTRIBUTES: tuple[Declaration, ...] = (
    Column(
        GROUP, "displayName", "display_name", lowered="display_name_lower", hook="GroupRenderer"
    ),
    Column(GROUP, "externalId", "external_id", nullable=True, hook="GroupRenderer"),
    Memberships(GROUP, "members", owner="group_id"),
    IdColumns(GROUP, "members.value", ("user_id", "member_group_id"), nullable=True),
    Special(GROUP, "members.type", ConstantTarget(((_IS_USER, "User"), (_IS_GROUP, "Group")))),
    Special(
        GROUP,
        "members.display",
        EitherTarget(
            (
                (_IS_USER, StringTarget("user__display_name", nullable=True)),
                (_IS_GROUP, StringTarget("member_group__display_name", nullable=True)),
            )
        ),
    ),
    Special(GROUP, "members.$ref"),
    *_common(GROUP, "Group"),
)

# The declarations of each resource type, by its name.
DECLARED: dict[str, tuple[Declaration, ...]] = {
    USER_RESOURCE.name: USER_ATTRIBUTES,
    GROUP_RESOURCE.name: GROUP_ATTRIBUTES,
}


def schema_attribute(
    resource: ResourceType, declared: Declaration
) -> tuple[Attribute, Attribute | None]:
    """The schema definitions of a declared attribute and of its sub-attribute, if it names one.

    Raises ``LookupError`` when the schemas of ``resource`` do not define it.
    """
    name, _, sub_name = declared.path.partition(".")
    found = resource.resolve(declared.schema, name)
    attr = found[1] if found else None
    sub = attr.sub_attribute(sub_name) if attr is not None and sub_name else None
    if attr is None or (sub_name and sub is None):
        raise LookupError(f"{resource.name} has no attribute {declared.schema}:{declared.path}")
    return attr, sub


def filter_mapping(resource: ResourceType) -> Mapping:
    """The filter targets of ``resource``'s declared attributes, as ``querying`` looks them up."""
    singles: dict[tuple[str, str, str], Target] = {}
    subs: dict[tuple[str, str], dict[str, Target]] = defaultdict(dict)
    multis: dict[tuple[str, str], MultiValued] = {}
    memberships: dict[tuple[str, str], Memberships] = {}
    for declared in DECLARED[resource.name]:
        attr, sub = schema_attribute(resource, declared)
        key = (declared.schema.lower(), attr.name.lower())
        if isinstance(declared, ValueRows):
            multis[key] = declared.multi_valued(attr)
        elif isinstance(declared, Memberships):
            memberships[key] = declared
        elif attr.multi_valued and sub is not None:
            subs[key][sub.name.lower()] = declared.filter_target(sub)
        else:
            singles[(*key, sub.name.lower() if sub else "")] = declared.filter_target(sub or attr)
    # Membership rows take the targets of the sub-attributes declared on their own lines.
    for key, membership in memberships.items():
        multis[key] = MultiValued(membership.rows, dict(subs[key]), owner=membership.owner)
    owner = "user_id" if resource.name == USER_RESOURCE.name else "group_id"
    extension_targets(resource, owner, singles, multis)
    return Mapping(resource, singles, multis)


def loop_columns(schema: str, parent: str | None = None) -> dict[str, str]:
    """SCIM name -> model field of the User columns that the column loop renders and stores.

    The top-level attributes of ``schema``, or the sub-attributes of its
    complex attribute ``parent`` (``"name"``).
    """
    columns: dict[str, str] = {}
    for declared in USER_ATTRIBUTES:
        if isinstance(declared, Column) and not declared.hook and declared.schema == schema:
            name, _, sub = declared.path.partition(".")
            if parent is None and not sub:
                columns[name] = declared.column
            elif parent == name and sub:
                columns[sub] = declared.column
    return columns


def value_row_attributes() -> tuple[str, ...]:
    """The multi-valued User attributes kept as value rows, in the order they are stored."""
    return tuple(d.path for d in USER_ATTRIBUTES if isinstance(d, ValueRows))


__all__ = [
    "DECLARED",
    "GROUP_ATTRIBUTES",
    "USER_ATTRIBUTES",
    "VALUE_COLUMNS",
    "Column",
    "Declaration",
    "IdColumns",
    "Memberships",
    "Special",
    "ValueRows",
    "filter_mapping",
    "loop_columns",
    "schema_attribute",
    "value_row_attributes",
]
