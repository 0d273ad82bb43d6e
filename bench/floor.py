"""The floor: bare Django views that run only the indexed queries a scenario needs.

Each view answers the same JSON as axon-scim's endpoint for that scenario,
built by hand from ``.values()`` rows: no DRF, no authentication, no
filter parser, no projection, no audit. The organization comes in the
``org`` query parameter. What axon-scim costs above these is what its
framework layers cost.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any
from uuid import UUID, uuid4

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path
from django.utils.timezone import now
from django.views.decorators.csrf import csrf_exempt

from axon_scim.extension_models import ScimExtensionValue
from axon_scim.models import ScimGroup, ScimMembership, ScimUser, ScimUserValue, value_digest

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
BASE = "http://127.0.0.1/scim/v2"

USER_FIELDS = (
    "id",
    "user_name",
    "external_id",
    "display_name",
    "active",
    "name_given",
    "name_family",
    "name_formatted",
    "title",
    "employee_number",
    "cost_center",
    "enterprise_organization",
    "division",
    "department",
    "manager_id",
    "manager__display_name",
    "created",
    "last_modified",
    "version",
)
EQ_USER = re.compile(r'^userName eq "(.*)"$', re.IGNORECASE)
EQ_WORK_EMAIL = re.compile(r'^emails\[type eq "work"\]\.value eq "(.*)"$', re.IGNORECASE)
# S2c: an organization's own attribute, ``urn:...:<slug>:2.0:User:<name> eq "..."``.
EQ_CUSTOM = re.compile(
    r'^(urn:ietf:params:scim:schemas:extension:[^ ]+:2\.0:User):(\w+) eq "(.*)"$'
)


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json(doc: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(doc), status=status, content_type="application/scim+json")


def _user_docs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Full User documents for ``rows``: one query for their emails, one for their groups."""
    ids = [row["id"] for row in rows]
    emails: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    groups: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        for user_id, value, kind, primary in (
            ScimUserValue.objects.filter(user_id__in=ids)
            .order_by("user_id", "attribute", "position")
            .values_list("user_id", "value", "type", "primary")
        ):
            item: dict[str, Any] = {"value": value, "type": kind}
            if primary:
                item["primary"] = True
            emails[user_id].append(item)
        for user_id, group_id, display in (
            ScimMembership.objects.filter(user_id__in=ids)
            .order_by("group__display_name_lower")
            .values_list("user_id", "group_id", "group__display_name")
        ):
            groups[user_id].append(
                {
                    "value": str(group_id),
                    "$ref": f"{BASE}/Groups/{group_id}",
                    "display": display,
                    "type": "direct",
                }
            )
    return [_user_doc(row, emails.get(row["id"], []), groups.get(row["id"])) for row in rows]


def _user_doc(
    row: dict[str, Any], emails: list[dict[str, Any]], groups: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """One full User document from its row, emails and groups."""
    uid = str(row["id"])
    doc: dict[str, Any] = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "id": uid,
        "userName": row["user_name"],
        "externalId": row["external_id"],
        "displayName": row["display_name"],
        "title": row["title"],
        "name": {
            "formatted": row["name_formatted"],
            "familyName": row["name_family"],
            "givenName": row["name_given"],
        },
        "active": row["active"],
        "emails": emails,
    }
    if groups:
        doc["groups"] = groups
    enterprise = {
        "employeeNumber": row["employee_number"],
        "costCenter": row["cost_center"],
        "organization": row["enterprise_organization"],
        "division": row["division"],
        "department": row["department"],
    }
    if row["manager_id"]:
        enterprise["manager"] = {
            "value": str(row["manager_id"]),
            "$ref": f"{BASE}/Users/{row['manager_id']}",
            "displayName": row["manager__display_name"],
        }
    doc[ENTERPRISE] = enterprise
    doc["meta"] = {
        "resourceType": "User",
        "created": _ts(row["created"]),
        "lastModified": _ts(row["last_modified"]),
        "location": f"{BASE}/Users/{uid}",
        "version": f'W/"{row["version"]}"',
    }
    return doc


def _list(docs: list[dict[str, Any]], total: int, start: int) -> HttpResponse:
    return _json(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(docs),
            "Resources": docs,
        }
    )


def users(request: HttpRequest) -> HttpResponse:
    """S1, S2, S2c (one indexed lookup) and S3, S9 (one count and one page)."""
    org = int(request.GET["org"])
    rows = ScimUser.objects.filter(organization_id=org)
    flt = request.GET.get("filter", "")
    if match := EQ_USER.match(flt):
        page = list(rows.filter(user_name_lower=match[1].lower()).values(*USER_FIELDS))
        return _list(_user_docs(page), len(page), 1)
    if match := EQ_WORK_EMAIL.match(flt):
        email = ScimUserValue.objects.filter(
            organization_id=org,
            attribute="emails",
            type="work",
            value_digest=value_digest(match[1]),
            value_lower=match[1].lower(),
            user_id=OuterRef("pk"),
        )
        page = list(rows.filter(Exists(email)).values(*USER_FIELDS))
        return _list(_user_docs(page), len(page), 1)
    if match := EQ_CUSTOM.match(flt):
        return _custom_eq(org, rows, match[1], f"{match[1]}:{match[2]}", match[3])
    start = int(request.GET.get("startIndex", "1"))
    count = int(request.GET.get("count", "100"))
    page = list(rows.order_by("created", "id").values(*USER_FIELDS)[start - 1 : start - 1 + count])
    return _list(_user_docs(page), rows.count(), start)


def _custom_eq(org: int, rows: Any, urn: str, key: str, value: str) -> HttpResponse:
    """S2c: one indexed lookup of the value row, then the documents with their custom
    attributes (one more query, as axon-scim reads them)."""
    found = ScimExtensionValue.objects.filter(
        organization_id=org,
        key=key,
        value_digest=value_digest(value),
        text_lower=value.lower(),
        user_id=OuterRef("pk"),
    )
    page = list(rows.filter(Exists(found)).values(*USER_FIELDS))
    docs = _user_docs(page)
    custom: dict[UUID, dict[str, Any]] = defaultdict(dict)
    for user_id, name, text in ScimExtensionValue.objects.filter(
        organization_id=org, user_id__in=[row["id"] for row in page]
    ).values_list("user_id", "key", "text"):
        custom[user_id][name.rsplit(":", 1)[1]] = text
    for row, doc in zip(page, docs, strict=True):
        if row["id"] in custom:
            doc["schemas"].append(urn)
            doc[urn] = custom[row["id"]]
    return _list(docs, len(page), 1)


def _group_doc(group: dict[str, Any], members: bool) -> dict[str, Any]:
    gid = str(group["id"])
    doc: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": gid,
        "displayName": group["display_name"],
    }
    if members:
        doc["members"] = MEMBERS_PLACEHOLDER
    doc["meta"] = {
        "resourceType": "Group",
        "created": _ts(group["created"]),
        "lastModified": _ts(group["last_modified"]),
        "location": f"{BASE}/Groups/{gid}",
        "version": f'W/"{group["version"]}"',
    }
    return doc


GROUP_FIELDS = ("id", "display_name", "created", "last_modified", "version")


@csrf_exempt
def group(request: HttpRequest, pk: UUID) -> HttpResponse:
    """S7, S8 (one group, with or without its members) and S6 (add or remove members)."""
    org = int(request.GET["org"])
    rows = ScimGroup.objects.filter(organization_id=org, pk=pk)
    if request.method == "PATCH":
        body = json.loads(request.body)
        with transaction.atomic():
            for op in body["Operations"]:
                ids = [item["value"] for item in op["value"]]
                if op["op"].lower() == "add":
                    ScimMembership.objects.bulk_create(
                        [
                            ScimMembership(organization_id=org, group_id=pk, user_id=uid)
                            for uid in ids
                        ],
                        ignore_conflicts=True,
                    )
                else:
                    ScimMembership.objects.filter(group_id=pk, user_id__in=ids).delete()
            rows.update(last_modified=now())
    found = rows.values(*GROUP_FIELDS).first()
    if found is None:
        return _json({"status": "404"}, 404)
    if request.GET.get("excludedAttributes") == "members":
        return _json(_group_doc(found, False))
    # As axon-scim does: PostgreSQL writes the members' JSON, streamed from a held
    # cursor in chunks of 5,000 and spliced into the document.
    head, tail = json.dumps(_group_doc(found, True)).split(json.dumps(MEMBERS_PLACEHOLDER), 1)
    return StreamingHttpResponse(
        _members_stream(found["id"], head, tail), content_type="application/scim+json"
    )


MEMBERS_PLACEHOLDER = "members-placeholder"
_cursors = count()


def _members_stream(group_id: UUID, head: str, tail: str) -> Iterator[bytes]:
    name = f"floor_members_{next(_cursors)}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"DECLARE {name} NO SCROLL CURSOR WITH HOLD FOR"
            " SELECT string_agg(item, ',' ORDER BY n) FROM (SELECT json_build_object("
            "'value', m.user_id, '$ref', %s || m.user_id, 'display',"
            " coalesce(nullif(u.display_name, ''), u.user_name), 'type', 'User')::text AS item,"
            " row_number() OVER (ORDER BY m.id) - 1 AS n FROM axon_scim_scimmembership m"
            " JOIN axon_scim_scimuser u ON u.id = m.user_id WHERE m.group_id = %s) members"
            " GROUP BY n / 5000 ORDER BY n / 5000",
            [f"{BASE}/Users/", group_id],
        )
    try:
        yield f"{head}[".encode()
        separator = ""
        while True:
            with connection.cursor() as cursor:
                cursor.execute(f"FETCH NEXT FROM {name}")
                row = cursor.fetchone()
            if row is None:
                break
            yield (separator + row[0]).encode()
            separator = ","
        yield f"]{tail}".encode()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"CLOSE {name}")


@csrf_exempt
def create_user(request: HttpRequest) -> HttpResponse:
    """S4: one insert of the user, one of its emails."""
    org = int(request.GET["org"])
    body = json.loads(request.body)
    user = ScimUser(
        id=uuid4(),
        organization_id=org,
        user_name=body["userName"],
        user_name_lower=body["userName"].lower(),
        external_id=body.get("externalId"),
        display_name=body.get("displayName", ""),
        active=body.get("active", True),
        name_given=body["name"]["givenName"],
        name_family=body["name"]["familyName"],
    )
    with transaction.atomic():
        ScimUser.objects.bulk_create([user])
        ScimUserValue.objects.bulk_create(
            [
                ScimUserValue(
                    organization_id=org,
                    user=user,
                    attribute="emails",
                    position=n,
                    value=item["value"],
                    value_lower=item["value"].lower(),
                    value_digest=value_digest(item["value"]),
                    type=item.get("type", ""),
                    primary=item.get("primary", False),
                )
                for n, item in enumerate(body.get("emails", []))
            ]
        )
    page = list(ScimUser.objects.filter(pk=user.pk).values(*USER_FIELDS))
    return _json(_user_docs(page)[0], 201)


@csrf_exempt
def patch_user(request: HttpRequest, pk: UUID) -> HttpResponse:
    """S5: one UPDATE of the user's columns, then the read of the document."""
    org = int(request.GET["org"])
    body = json.loads(request.body)
    columns = {
        "displayName": "display_name",
        "name.givenName": "name_given",
        "name.familyName": "name_family",
        "title": "title",
        f"{ENTERPRISE}:department": "department",
        "active": "active",
    }
    changes: dict[str, Any] = {"last_modified": now()}
    for op in body["Operations"]:
        if op["path"] in columns:
            value = op["value"]
            changes[columns[op["path"]]] = (
                str(value).lower() == "true" if op["path"] == "active" else value
            )
    ScimUser.objects.filter(organization_id=org, pk=pk).update(**changes)
    page = list(ScimUser.objects.filter(organization_id=org, pk=pk).values(*USER_FIELDS))
    return _json(_user_docs(page)[0])


urlpatterns = [
    path("Users", users),
    path("Users/new", create_user),
    path("Users/<uuid:pk>", patch_user),
    path("Groups/<uuid:pk>", group),
]
