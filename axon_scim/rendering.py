"""Model rows to SCIM JSON and back; camelCase lives only here and in the protocol package.

``UserRenderer.render`` builds the full document of a user (projection
comes afterwards); ``user_changes`` turns a normalized document
(``protocol.documents``) into column values and value rows. Which attribute
lives in which column is declared in ``axon_scim.attributes``; the tables
below are derived from it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, FilteredRelation, Q

from .attributes import (
    USER_ATTRIBUTES,
    VALUE_COLUMNS,
    Column,
    loop_columns,
    value_row_attributes,
)
from .extension_models import ScimExtensionValue
from .extension_values import load_extension_rows, render_extensions
from .extensions import custom_schemas
from .models import ScimGroup, ScimMembership, ScimUser, ScimUserValue
from .protocol import constants as c
from .protocol.etag import make_etag
from .protocol.schemas import ResourceType
from .reads import ValueRow, user_groups, user_values

# Simple User attributes stored as columns: SCIM name -> model field.
USER_COLUMNS: dict[str, str] = loop_columns(c.USER_SCHEMA)
NAME_COLUMNS: dict[str, str] = loop_columns(c.USER_SCHEMA, "name")
ENTERPRISE_COLUMNS: dict[str, str] = loop_columns(c.ENTERPRISE_USER_SCHEMA)
# Model field -> SCIM attribute, for errors that name what the client sent.
USER_LABELS: dict[str, str] = {
    **{column: name for name, column in USER_COLUMNS.items()},
    **{column: f"name.{name}" for name, column in NAME_COLUMNS.items()},
    **{column: f"{c.ENTERPRISE_USER_SCHEMA}:{name}" for name, column in ENTERPRISE_COLUMNS.items()},
}
# The multi-valued User attributes kept as value rows (``groups`` are memberships).
MULTI_VALUED: tuple[str, ...] = value_row_attributes()
# Loop columns that keep an absent value as NULL rather than "" (``externalId``).
NULL_WHEN_ABSENT = frozenset(
    d.column for d in USER_ATTRIBUTES if isinstance(d, Column) and d.nullable and not d.hook
)


def timestamp(moment: datetime) -> str:
    """RFC 7643 section 2.3.5 dateTime, in UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def meta(
    resource_type: str, location: str, created: datetime, modified: datetime, version: int
) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": location,
        "version": make_etag(version),
    }


@dataclass
class UserContext:
    """What a page of users needs besides its own rows, loaded in one query each."""

    values: dict[UUID, list[ScimUserValue]] = field(default_factory=dict)
    groups: dict[UUID, list[tuple[UUID, str]]] = field(default_factory=dict)
    load_values: bool = True
    load_groups: bool = True
    # The organization's User type, when it has custom attributes to render, and their rows.
    resource: ResourceType | None = None
    extensions: dict[UUID, list[ScimExtensionValue]] = field(default_factory=dict)
    # Write-only custom values too: only in the document a PATCH starts from.
    write_only: bool = False

    @classmethod
    def load(
        cls,
        users: Sequence[ScimUser],
        *,
        values: bool = True,
        groups: bool = True,
        resource: ResourceType | None = None,
    ) -> UserContext:
        """One query for the value rows, the groups, and the custom attributes, as asked.

        Custom attribute rows are read only when ``resource`` has custom extensions.
        """
        context = cls(load_values=values, load_groups=groups)
        ids = [user.pk for user in users]
        if not ids:
            return context
        org = users[0].organization_id  # the users are of one organization
        if resource is not None and custom_schemas(resource):
            context.resource = resource
            context.extensions = load_extension_rows(org, "user_id", ids)
        if values:
            by_user: dict[UUID, list[ScimUserValue]] = defaultdict(list)
            for row in ScimUserValue.objects.filter(organization_id=org, user_id__in=ids).order_by(
                "user_id", "attribute", "position"
            ):
                by_user[row.user_id].append(row)
            context.values = dict(by_user)
        if groups:
            by_member: dict[UUID, list[tuple[UUID, str]]] = defaultdict(list)
            rows = (
                ScimMembership.objects.filter(organization_id=org, user_id__in=ids)
                .filter(group__organization_id=org)
                .order_by("group__display_name_lower")
                .values_list("user_id", "group_id", "group__display_name")
            )
            for user_id, group_id, display in rows:
                by_member[user_id].append((group_id, display))
            context.groups = dict(by_member)
        return context

    @classmethod
    def read(
        cls,
        users: Sequence[ScimUser],
        *,
        values: bool = True,
        groups: bool = True,
        resource: ResourceType | None = None,
    ) -> UserContext:
        """What ``load`` reads, for rendering only: value rows as ``ValueRow`` tuples, by SQL
        written once (``reads``) rather than compiled by the ORM on every request."""
        context = cls(load_values=values, load_groups=groups)
        if not users:
            return context
        ids, organization_id = [user.pk for user in users], users[0].organization_id
        if resource is not None and custom_schemas(resource):
            context.resource = resource
            context.extensions = load_extension_rows(organization_id, "user_id", ids)
        if values:
            context.values = user_values(organization_id, ids)  # type: ignore[assignment]
        if groups:
            context.groups = user_groups(organization_id, ids)
        return context


class UserRenderer:
    """SCIM User documents of one base URL (``https://host/scim/v2``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def location(self, user_id: object) -> str:
        return f"{self.base_url}/Users/{user_id}"

    def render(self, user: ScimUser, context: UserContext) -> dict[str, Any]:
        """The full SCIM document of ``user`` (before projection)."""
        doc: dict[str, Any] = {"schemas": [c.USER_SCHEMA], "id": str(user.pk)}
        for scim_name, column in USER_COLUMNS.items():
            value = getattr(user, column)
            if value not in ("", None):
                doc[scim_name] = value
        name = {k: getattr(user, col) for k, col in NAME_COLUMNS.items() if getattr(user, col)}
        if name:
            doc["name"] = name
        if user.active is not None:
            doc["active"] = user.active
        if context.load_values:
            for attribute, items in self._values(context.values.get(user.pk, ())).items():
                doc[attribute] = items
        if context.load_groups:
            groups = context.groups.get(user.pk, ())
            if groups:
                doc["groups"] = [
                    {
                        "value": str(group_id),
                        "$ref": f"{self.base_url}/Groups/{group_id}",
                        "display": display,
                        "type": "direct",
                    }
                    for group_id, display in groups
                ]
        enterprise = {
            k: getattr(user, col) for k, col in ENTERPRISE_COLUMNS.items() if getattr(user, col)
        }
        if user.manager_id is not None:
            manager: dict[str, Any] = {
                "value": str(user.manager_id),
                "$ref": self.location(user.manager_id),
            }
            if display := _manager_display_name(user):
                manager["displayName"] = display
            enterprise["manager"] = manager
        if enterprise:
            doc["schemas"].append(c.ENTERPRISE_USER_SCHEMA)
            doc[c.ENTERPRISE_USER_SCHEMA] = enterprise
        if context.resource is not None:
            rows = context.extensions.get(user.pk, ())
            render_extensions(doc, rows, context.resource, write_only=context.write_only)
        doc["meta"] = meta(
            "User", self.location(user.pk), user.created, user.last_modified, user.version
        )
        return doc

    @staticmethod
    def _values(rows: Iterable[ScimUserValue | ValueRow]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            item: dict[str, Any] = dict(row.extra)
            if row.value:
                item["value"] = row.value
            if row.display:
                item["display"] = row.display
            if row.type:
                item["type"] = row.type
            if row.primary is not None:
                item["primary"] = row.primary
            out[row.attribute].append(item)
        return dict(out)


@dataclass
class UserChanges:
    """What a normalized User document asks to store."""

    columns: dict[str, Any]
    values: list[ScimUserValue]
    manager: str | None  # a user id, "" to clear, None when the document leaves it unset
    password: str | None
    active: bool | None
    # Whether ``active`` is to be written: a PUT without it keeps the current value.
    active_given: bool


def user_changes(doc: dict[str, Any], *, patched: bool = False) -> UserChanges:
    """Column values and value rows for a normalized User document.

    The document replaces the user, as PUT means it, except that a PUT
    leaves ``active`` alone when it omits it (a client that replaces a
    deactivated user without sending ``active`` must not re-enable it); in
    a ``patched`` document a missing ``active`` was removed and is unassigned.
    """
    columns: dict[str, Any] = {}
    for scim_name, column in USER_COLUMNS.items():
        value = doc.get(scim_name)
        columns[column] = (
            None
            if column in NULL_WHEN_ABSENT and value in ("", None)
            else (value if value is not None else "")
        )
    name = doc.get("name") or {}
    for scim_name, column in NAME_COLUMNS.items():
        columns[column] = name.get(scim_name) or ""
    enterprise = doc.get(c.ENTERPRISE_USER_SCHEMA) or {}
    for scim_name, column in ENTERPRISE_COLUMNS.items():
        columns[column] = enterprise.get(scim_name) or ""
    manager_value: str | None = ""
    manager = enterprise.get("manager")
    if isinstance(manager, dict):
        manager_value = str(manager.get("value") or "")
    values: list[ScimUserValue] = []
    for attribute in MULTI_VALUED:
        for position, item in enumerate(doc.get(attribute) or ()):
            extra = {k: v for k, v in item.items() if k not in VALUE_COLUMNS}
            values.append(
                ScimUserValue(
                    attribute=attribute,
                    position=position,
                    value=str(item.get("value") or ""),
                    type=str(item.get("type") or ""),
                    display=str(item.get("display") or ""),
                    primary=item["primary"] if isinstance(item.get("primary"), bool) else None,
                    extra=extra,
                )
            )
    password = doc.get("password")
    active = doc.get("active")
    return UserChanges(
        columns,
        values,
        manager_value,
        password if isinstance(password, str) else None,
        active if isinstance(active, bool) else None,
        patched or isinstance(active, bool),
    )


def primary_email(values: Iterable[ScimUserValue]) -> str:
    """The primary email, else the first work email, else the first email."""
    emails = [v for v in values if v.attribute == "emails" and v.value]
    for chosen in (
        next((v for v in emails if v.primary), None),
        next((v for v in emails if v.type == "work"), None),
        emails[0] if emails else None,
    ):
        if chosen is not None:
            return chosen.value
    return ""


class GroupRenderer:
    """SCIM Group documents of one base URL."""

    def __init__(self, base_url: str, organization_id: int | None = None) -> None:
        self.base_url = base_url
        # The organization whose members ``members_of`` and ``members_json`` read.
        self.organization_id = organization_id

    def location(self, group_id: object) -> str:
        return f"{self.base_url}/Groups/{group_id}"

    def render(
        self,
        group: ScimGroup,
        members: list[dict[str, Any]] | None,
        resource: ResourceType | None = None,
        custom: Iterable[ScimExtensionValue] = (),
        *,
        write_only: bool = False,
    ) -> dict[str, Any]:
        """The full document of ``group``; ``members`` None means they were not loaded.

        ``custom`` are the group's custom attribute rows, rendered as the
        organization's Group type ``resource`` declares them (``write_only``:
        see ``render_extensions``).
        """
        doc: dict[str, Any] = {
            "schemas": [c.GROUP_SCHEMA],
            "id": str(group.pk),
            "displayName": group.display_name,
        }
        if group.external_id:
            doc["externalId"] = group.external_id
        if members is not None:
            doc["members"] = members
        if resource is not None and custom_schemas(resource):
            render_extensions(doc, custom, resource, write_only=write_only)
        doc["meta"] = meta(
            "Group", self.location(group.pk), group.created, group.last_modified, group.version
        )
        return doc

    def member_bases(self) -> dict[str, str]:
        """The start of a member's ``$ref``, by its ``type``."""
        return {"User": f"{self.base_url}/Users/", "Group": f"{self.base_url}/Groups/"}

    def _organization(self) -> int:
        # Members are read through their organization (one shard); without it every read
        # would silently find none.
        if self.organization_id is None:
            raise ValueError("GroupRenderer needs organization_id to read members.")
        return self.organization_id

    def members_json(self, group_id: UUID) -> str:
        """The group's ``members`` as JSON text, the same values ``members_of`` gives.

        A group can have 100,000 members: formatting each straight to text
        costs a fraction of building a dict per member and rendering those.
        """
        urls = self.member_bases()
        if connection.vendor == "postgresql":
            return _members_json_in_sql(self._organization(), group_id, urls)
        rows = (
            _with_members(ScimMembership.objects.filter(group_id=group_id), self._organization())
            .order_by("id")
            .values_list("user_id", "member_user__display_name", "member_group_id", "member__name")
        )
        items = []
        for user_id, user_display, member_group_id, group_display in rows:
            kind, member, display = (
                ("User", user_id, user_display)
                if user_id is not None
                else ("Group", member_group_id, group_display)
            )
            member_id = str(member)  # a UUID: nothing to escape
            item = f'{{"value":"{member_id}","$ref":{_json(urls[kind] + member_id)},"type":"{kind}"'
            if display:
                item += f',"display":{_json(display)}'
            items.append(item + "}")
        return "[" + ",".join(items) + "]"

    def members_of(self, group_ids: Sequence[UUID]) -> dict[UUID, list[dict[str, Any]]]:
        """The members of each group, in one query over the membership rows."""
        out: dict[UUID, list[dict[str, Any]]] = {gid: [] for gid in group_ids}
        rows = (
            _with_members(
                ScimMembership.objects.filter(group_id__in=group_ids), self._organization()
            )
            .order_by("group_id", "id")
            .values_list(
                "group_id",
                "user_id",
                "member_user__display_name",
                "member_group_id",
                "member__name",
            )
        )
        urls = {"User": f"{self.base_url}/Users/", "Group": f"{self.base_url}/Groups/"}
        for group_id, user_id, user_display, member_group_id, group_display in rows:
            kind, member, display = (
                ("User", user_id, user_display)
                if user_id is not None
                else ("Group", member_group_id, group_display)
            )
            member_id = str(member)
            item = {"value": member_id, "$ref": urls[kind] + member_id, "type": kind}
            if display:  # the same display_name that a members.display filter compares
                item["display"] = display
            out[group_id].append(item)
        return out


def _with_members(rows: Any, organization_id: int) -> Any:
    """Membership rows of the organization, joined to their user or group within it.

    The joins name the organization as well as the id (FilteredRelation), so
    the query stays on the organization's shard (docs/scaling.md).
    """
    assert organization_id is not None, "GroupRenderer needs the organization to read members"
    same = F("organization_id")
    return rows.filter(organization_id=organization_id).annotate(
        member_user=FilteredRelation("user", condition=Q(user__organization_id=same)),
        member_in_org=FilteredRelation(
            "member_group", condition=Q(member_group__organization_id=same)
        ),
        member__name=F("member_in_org__display_name"),
    )


def _manager_display_name(user: ScimUser) -> str:
    """The manager's displayName: of the row a service just set, else of the scoped join's.

    Reads go through ``ScimUserQuerySet.with_manager_name``; a user without
    either (the manager is not loaded) renders the manager without a name.
    """
    if ScimUser.manager.is_cached(user):
        return user.manager.display_name if user.manager is not None else ""
    return getattr(user, "manager_display_name", None) or ""


def _json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _member_sql(column: str, table: str, kind: str) -> str:
    """One member's JSON text, as ``members_json`` formats it; ``to_json`` escapes as json does."""
    return (
        f"""'{{"value":"' || m.{column}::text || '","$ref":' """
        f"""|| to_json(%s || m.{column}::text)::text || ',"type":"{kind}"' """
        f"""|| CASE WHEN {table}.display_name <> '' """
        f"""THEN ',"display":' || to_json({table}.display_name)::text ELSE '' END || '}}'"""
    )


# One member's JSON text (its ``$ref`` bases are the two parameters, User's then Group's),
# over ``members_from_sql``.
MEMBER_ITEM_SQL = (
    f"CASE WHEN m.user_id IS NOT NULL THEN {_member_sql('user_id', 'u', 'User')}"
    f" ELSE {_member_sql('member_group_id', 'g', 'Group')} END"
)


def members_from_sql(connection: BaseDatabaseWrapper) -> str:
    """Membership rows ``m`` with their user ``u`` or group ``g``, for ``MEMBER_ITEM_SQL``.

    Each join names the organization too, so it stays on one shard (docs/scaling.md);
    the caller's WHERE names ``m.organization_id``.
    """
    quote = connection.ops.quote_name
    return (
        f"{quote(ScimMembership._meta.db_table)} m"
        f" LEFT JOIN {quote(ScimUser._meta.db_table)} u"
        " ON u.id = m.user_id AND u.organization_id = m.organization_id"
        f" LEFT JOIN {quote(ScimGroup._meta.db_table)} g"
        " ON g.id = m.member_group_id AND g.organization_id = m.organization_id"
    )


def _members_json_in_sql(organization_id: int, group_id: UUID, urls: dict[str, str]) -> str:
    """``members_json`` built by PostgreSQL: one row of text, no Python per member."""
    sql = (
        f"SELECT string_agg({MEMBER_ITEM_SQL}, ',' ORDER BY m.id)"
        f" FROM {members_from_sql(connection)}"
        " WHERE m.organization_id = %s AND m.group_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [urls["User"], urls["Group"], organization_id, group_id])
        (text,) = cursor.fetchone() or (None,)
    return f"[{text or ''}]"
