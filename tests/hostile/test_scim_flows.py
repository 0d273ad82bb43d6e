"""The main SCIM flows under the hostile host, as an IdP sends them.

Create, filter, PATCH, PUT and DELETE a user, push a group and its members
onto a mapped role, send a Bulk, read discovery: every answer as under the
demo settings, and the portal accounts are the host's (email login, UUID key).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import get_perms

from axon_scim import services
from axon_scim.models import Organization, RoleAssignment
from axon_scim.protocol import constants as c

from ..conftest import ScimClient, patch_body
from ..factories import make_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("host_versioning")]

SCIM_HEADERS = {"Accept": c.MEDIA_TYPE}


def create_user(scim: ScimClient, user_name: str, given: str = "Zoë") -> dict[str, Any]:
    response = scim.post(
        "Users",
        {
            "schemas": [c.USER_SCHEMA],
            "userName": user_name,
            "name": {"givenName": given, "familyName": "Müller"},
            "emails": [{"value": user_name, "type": "work", "primary": True}],
        },
        headers=SCIM_HEADERS,
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == c.MEDIA_TYPE
    return dict(response.json())


def account_of(user_name: str, organization: Organization) -> Any:
    local, _, domain = user_name.lower().partition("@")
    return get_user_model().objects.get(email=f"{local}+{organization.slug}@{domain}")


def test_create_user_makes_a_host_account(scim, org):
    doc = create_user(scim, "Zoe@Acme.example")

    account = account_of("Zoe@Acme.example", org)
    assert isinstance(account.pk, uuid.UUID)
    assert (account.full_name, account.is_active, account.has_usable_password()) == (
        "Zoë Müller",
        True,
        False,
    )
    assert doc["userName"] == "Zoe@Acme.example"
    assert doc["meta"]["created"].endswith("Z")  # UTC, whatever the host's TIME_ZONE


def test_bodies_are_compact_utf8_whatever_the_hosts_json_settings(scim):
    create_user(scim, "zoe@acme.example")

    body = scim.get("Users", headers=SCIM_HEADERS).content

    assert body.startswith(b'{"schemas":["' + c.LIST_RESPONSE.encode() + b'"],"totalResults":1')
    assert "Zoë".encode() in body


def test_filter_pages_by_scim_rules_not_the_hosts_paginator(scim):
    for name in ("ann", "ben", "cem"):
        create_user(scim, f"{name}@acme.example")

    found = scim.get("Users", {"filter": 'userName eq "BEN@acme.example"'}).json()
    paged = scim.get("Users", {"count": 2, "sortBy": "userName", "ordering": "-id"}).json()

    assert [u["userName"] for u in found["Resources"]] == ["ben@acme.example"]
    assert (paged["totalResults"], paged["itemsPerPage"]) == (3, 2)
    assert [u["userName"] for u in paged["Resources"]] == ["ann@acme.example", "ben@acme.example"]


def test_cursor_walk_is_scims_own_whatever_the_hosts_time_zone(scim):
    for name in ("ann", "ben", "cem"):
        create_user(scim, f"{name}@acme.example")

    first = scim.get("Users", {"cursor": "", "count": 2, "ordering": "-id"}).json()
    rest = scim.get("Users", {"cursor": first["nextCursor"], "count": 2}).json()

    names = [u["userName"] for page in (first, rest) for u in page["Resources"]]
    assert names == ["ann@acme.example", "ben@acme.example", "cem@acme.example"]
    assert (first["totalResults"], "nextCursor" in rest) == (3, False)


def test_patch_deactivates_and_put_replaces(scim, org):
    user_id = create_user(scim, "zoe@acme.example")["id"]

    patched = scim.patch(
        f"Users/{user_id}",
        patch_body({"op": "Replace", "path": "active", "value": "False"}),
        headers=SCIM_HEADERS,
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["active"] is False
    assert account_of("zoe@acme.example", org).is_active is False

    replaced = scim.put(
        f"Users/{user_id}",
        {"schemas": [c.USER_SCHEMA], "userName": "zoe@acme.example", "active": True},
        content_type="application/json",
    )
    assert replaced.status_code == 200, replaced.content
    assert account_of("zoe@acme.example", org).is_active is True


def test_delete_retires_the_account_and_frees_the_user_name(scim, org):
    user_id = create_user(scim, "zoe@acme.example")["id"]
    account = account_of("zoe@acme.example", org)

    assert scim.delete(f"Users/{user_id}").status_code == 204
    assert scim.get(f"Users/{user_id}").status_code == 404
    account.refresh_from_db()
    assert account.is_active is False
    assert account.email == f"deleted:{user_id}:zoe+acme@acme.example"
    create_user(scim, "zoe@acme.example")


def test_group_push_grants_the_mapped_role_to_host_accounts(scim, org):
    ids = [create_user(scim, f"{name}@acme.example")["id"] for name in ("ann", "ben")]
    created = scim.post(
        "Groups",
        {"schemas": [c.GROUP_SCHEMA], "displayName": "Prüfung", "members": [{"value": ids[0]}]},
    )
    assert created.status_code == 201, created.content
    group_id = created.json()["id"]
    role = make_role(org, "Prüfer", "view_organization")
    services.set_group_role(org, services.Actor(label="tests"), group_id, role.pk)

    added = scim.patch(
        f"Groups/{group_id}",
        patch_body({"op": "add", "path": "members", "value": [{"value": ids[1]}]}),
    )

    assert added.status_code == 200, added.content
    assert {member["value"] for member in added.json()["members"]} == set(ids)
    for name in ("ann", "ben"):
        assert get_perms(account_of(f"{name}@acme.example", org), org) == ["view_organization"]
    assert RoleAssignment.objects.filter(role=role).count() == 2


def test_discovery_and_errors_are_scims_own(anonymous_scim, scim):
    for path in ("ServiceProviderConfig", "Schemas", "ResourceTypes", "ResourceTypes/User"):
        response = anonymous_scim.get(path, headers=SCIM_HEADERS)
        assert response.status_code == 200, (path, response.content)

    missing = scim.get(f"Users/{uuid.uuid4()}")
    options = scim.request("OPTIONS", "Users")

    assert (missing.status_code, missing["Content-Type"]) == (404, c.MEDIA_TYPE)
    assert json.loads(missing.content)["schemas"] == [c.ERROR]
    assert options.status_code == 200
    assert options.json()["name"] == "User List"


def test_bulk_runs_each_operation_as_the_request_alone(scim, org):
    """A group listed before its member, under the host's ATOMIC_REQUESTS and DRF defaults."""
    group = {"displayName": "Prüfung", "members": [{"value": "bulkId:ann"}]}
    user = {"userName": "ann@acme.example", "emails": [{"value": "ann@acme.example"}]}
    response = scim.post(
        "Bulk",
        {
            "schemas": [c.BULK_REQUEST],
            "Operations": [
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group},
                {"method": "POST", "path": "/Users", "bulkId": "ann", "data": user},
                {"method": "POST", "path": "/Users", "bulkId": "again", "data": user},
            ],
        },
        headers=SCIM_HEADERS,
    )

    assert (response.status_code, response["Content-Type"]) == (200, c.MEDIA_TYPE)
    results = json.loads(response.content)["Operations"]
    assert [result["status"] for result in results] == ["201", "201", "409"]
    assert account_of("ann@acme.example", org).is_active
    group_id = results[0]["location"].rsplit("/", 1)[1]
    members = scim.get(f"Groups/{group_id}", headers=SCIM_HEADERS).json()["members"]
    assert [member["value"] for member in members] == [results[1]["location"].rsplit("/", 1)[1]]
