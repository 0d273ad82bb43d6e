"""The /Users endpoints: create, read, list, replace, patch, delete, with whole bodies."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from axon_scim.models import AuditEvent, ScimUser
from axon_scim.protocol import constants as c

BASE = "http://testserver/scim/v2"

OKTA_USER = {
    "schemas": [c.USER_SCHEMA],
    "userName": "Isaac.Brock@example.com",
    "name": {"givenName": "Isaac", "familyName": "Brock"},
    "emails": [{"primary": True, "value": "isaac.brock@example.com", "type": "work"}],
    "displayName": "Isaac Brock",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


def created(scim: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = scim.post("Users", body or OKTA_USER)
    assert response.status_code == 201, response.content
    return response.json()


def expected_user(doc: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The document the server renders for OKTA_USER, with ``doc``'s server-made values."""
    out = {
        "schemas": [c.USER_SCHEMA],
        "id": doc["id"],
        "externalId": "00ujl29u0le5T6Aj10h7",
        "userName": "Isaac.Brock@example.com",
        "displayName": "Isaac Brock",
        "locale": "en-US",
        "name": {"familyName": "Brock", "givenName": "Isaac"},
        "active": True,
        "emails": [{"value": "isaac.brock@example.com", "type": "work", "primary": True}],
        "meta": {
            "resourceType": "User",
            "created": doc["meta"]["created"],
            "lastModified": doc["meta"]["lastModified"],
            "location": f"{BASE}/Users/{doc['id']}",
            "version": doc["meta"]["version"],
        },
    }
    out.update(overrides)
    return out


@pytest.mark.django_db
def test_create_user_okta_body(scim, org):
    response = scim.post("Users", OKTA_USER)
    assert response.status_code == 201
    assert response["Content-Type"] == c.MEDIA_TYPE
    doc = response.json()
    assert doc == expected_user(doc)
    assert doc["meta"]["version"] == 'W/"1"'
    assert response["ETag"] == 'W/"1"'
    assert response["Location"] == f"{BASE}/Users/{doc['id']}"
    user = ScimUser.objects.get(pk=doc["id"])
    assert user.organization == org
    account = user.account
    assert account.username == "acme:isaac.brock@example.com"
    assert (account.email, account.first_name, account.last_name, account.is_active) == (
        "isaac.brock@example.com",
        "Isaac",
        "Brock",
        True,
    )
    assert not account.has_usable_password()  # password not stored by default
    event = AuditEvent.objects.get(action="user.created")
    assert event.resource_id == doc["id"]
    assert "password" not in str(event.after)


@pytest.mark.django_db
def test_password_stored_when_the_host_asks(scim, settings):
    settings.AXON_SCIM = {"STORE_PASSWORD": True}
    doc = created(scim)
    assert ScimUser.objects.get(pk=doc["id"]).account.check_password("1mz050nq")
    assert "password" not in scim.get(f"Users/{doc['id']}").json()


@pytest.mark.django_db
def test_get_user_and_etags(scim):
    doc = created(scim)
    response = scim.get(f"Users/{doc['id']}")
    assert response.status_code == 200
    assert response.json() == expected_user(doc)
    assert response["ETag"] == 'W/"1"'
    not_modified = scim.get(f"Users/{doc['id']}", headers={"If-None-Match": 'W/"1"'})
    assert not_modified.status_code == 304
    changed = scim.get(f"Users/{doc['id']}", headers={"If-None-Match": 'W/"0"'})
    assert changed.status_code == 200


@pytest.mark.django_db
def test_duplicate_user_name_is_409_case_insensitively(scim):
    created(scim)
    response = scim.post("Users", {**OKTA_USER, "userName": "ISAAC.BROCK@EXAMPLE.COM"})
    assert response.status_code == 409
    assert response.json() == {
        "schemas": [c.ERROR],
        "status": "409",
        "scimType": "uniqueness",
        "detail": 'userName "ISAAC.BROCK@EXAMPLE.COM" is already taken in this organization.',
    }
    assert ScimUser.objects.count() == 1


@pytest.mark.django_db
def test_same_user_name_in_two_organizations(scim, other_scim):
    created(scim)
    assert other_scim.post("Users", OKTA_USER).status_code == 201


@pytest.mark.django_db
def test_filter_lookup_and_empty_list(scim):
    doc = created(scim)
    found = scim.get("Users", {"filter": 'userName eq "isaac.brock@EXAMPLE.com"'}).json()
    assert found == {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": 1,
        "startIndex": 1,
        "itemsPerPage": 1,
        "Resources": [expected_user(doc)],
    }
    none = scim.get("Users", {"filter": 'externalId eq "missing"'})
    assert none.status_code == 200
    assert none.json() == {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


@pytest.mark.django_db
def test_bad_filter_is_400_invalid_filter(scim):
    for text in ["userName eq", 'nosuch eq "x"', 'userName eq "a" or', "(userName pr"]:
        response = scim.get("Users", {"filter": text})
        assert response.status_code == 400, text
        assert response.json()["scimType"] == "invalidFilter"


@pytest.mark.django_db
def test_paging_is_stable_and_clamped(scim):
    ids = [
        created(scim, {**OKTA_USER, "userName": f"u{i:02}@x.com", "externalId": str(i)})["id"]
        for i in range(7)
    ]
    seen = []
    for start in (1, 4, 7):
        page = scim.get("Users", {"startIndex": start, "count": 3, "attributes": "userName"}).json()
        assert page["totalResults"] == 7 and page["startIndex"] == start
        seen += [r["id"] for r in page["Resources"]]
    assert seen == ids
    clamped = scim.get("Users", {"startIndex": -5, "count": 2}).json()
    assert (clamped["startIndex"], clamped["itemsPerPage"]) == (1, 2)
    empty = scim.get("Users", {"count": 0}).json()
    assert (empty["totalResults"], empty["Resources"]) == (7, [])
    past = scim.get("Users", {"startIndex": 50}).json()
    assert (past["totalResults"], past["itemsPerPage"]) == (7, 0)


@pytest.mark.django_db
def test_sorting(scim):
    for name in ("carol@x.com", "Alice@x.com", "bob@x.com"):
        created(scim, {**OKTA_USER, "userName": name})
    names = [
        r["userName"]
        for r in scim.get("Users", {"sortBy": "userName", "sortOrder": "descending"}).json()[
            "Resources"
        ]
    ]
    assert names == ["carol@x.com", "bob@x.com", "Alice@x.com"]


@pytest.mark.django_db
def test_attributes_and_excluded_attributes(scim):
    doc = created(scim)
    only = scim.get(f"Users/{doc['id']}", {"attributes": "emails.value,name.givenName"}).json()
    assert only == {
        "schemas": [c.USER_SCHEMA],
        "id": doc["id"],
        "userName": "Isaac.Brock@example.com",
        "name": {"givenName": "Isaac"},
        "emails": [{"value": "isaac.brock@example.com"}],
    }
    without = scim.get(f"Users/{doc['id']}", {"excludedAttributes": "emails,meta"}).json()
    assert "emails" not in without and "meta" not in without and without["id"] == doc["id"]


@pytest.mark.django_db
def test_put_replaces_and_ignores_read_only(scim):
    doc = created(scim)
    body = {
        **OKTA_USER,
        "id": doc["id"],
        "meta": {"version": "bogus"},
        "groups": [],
        "displayName": "Isaac B.",
        "emails": [{"value": "ib@example.com", "type": "home"}],
    }
    body.pop("locale")
    response = scim.put(f"Users/{doc['id']}", body)
    assert response.status_code == 200, response.content
    new = response.json()
    expected = expected_user(
        new, displayName="Isaac B.", emails=[{"value": "ib@example.com", "type": "home"}]
    )
    expected.pop("locale")
    assert new == expected
    assert new["meta"]["version"] == 'W/"2"'


@pytest.mark.django_db
def test_if_match_on_writes(scim):
    doc = created(scim)
    stale = scim.put(f"Users/{doc['id']}", OKTA_USER, headers={"If-Match": 'W/"9"'})
    assert stale.status_code == 412
    assert stale.json()["status"] == "412"
    renamed = {**OKTA_USER, "displayName": "Isaac B."}
    assert scim.put(f"Users/{doc['id']}", renamed, headers={"If-Match": 'W/"1"'}).status_code == 200
    assert scim.delete(f"Users/{doc['id']}", headers={"If-Match": 'W/"1"'}).status_code == 412
    assert scim.delete(f"Users/{doc['id']}", headers={"If-Match": "*"}).status_code == 204


@pytest.mark.django_db
def test_patch_entra_deactivate_disables_account(scim, client):
    doc = created(scim)
    account = ScimUser.objects.get(pk=doc["id"]).account
    client.force_login(account)
    assert client.get("/admin/").wsgi_request.user.is_authenticated
    response = scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert response.status_code == 200, response.content
    assert response.json() == expected_user(response.json(), active=False)
    account.refresh_from_db()
    assert account.is_active is False
    # The open session ends: the next request is anonymous.
    assert not client.get("/admin/").wsgi_request.user.is_authenticated
    assert [e.action for e in AuditEvent.objects.order_by("id")][-2:] == [
        "user.updated",
        "user.deactivated",
    ]
    # Deactivated users stay readable and filterable; reactivation enables the account.
    assert scim.get("Users", {"filter": "active eq false"}).json()["totalResults"] == 1
    scim.patch(
        f"Users/{doc['id']}",
        {"schemas": [c.PATCH_OP], "Operations": [{"op": "replace", "value": {"active": True}}]},
    )
    account.refresh_from_db()
    assert account.is_active is True
    # ... but the sessions that deactivation ended stay ended.
    assert not client.get("/admin/").wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_patch_entra_multi_op_and_enterprise(scim):
    doc = created(scim)
    manager = created(scim, {**OKTA_USER, "userName": "boss@example.com", "displayName": "Boss"})
    response = scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Isaac R. Brock"},
                {"op": "Add", "path": 'emails[type eq "home"].value', "value": "ib@home.example"},
                {"op": "Replace", "path": "name.familyName", "value": "Brocke"},
                {
                    "op": "Add",
                    "value": {
                        f"{c.ENTERPRISE_USER_SCHEMA}:department": "Research",
                        f"{c.ENTERPRISE_USER_SCHEMA}:manager": manager["id"],
                    },
                },
            ],
        },
    )
    assert response.status_code == 200, response.content
    new = response.json()
    assert new["displayName"] == "Isaac R. Brock"
    assert new["name"] == {"familyName": "Brocke", "givenName": "Isaac"}
    assert new["emails"] == [
        {"value": "isaac.brock@example.com", "type": "work", "primary": True},
        {"value": "ib@home.example", "type": "home"},
    ]
    assert new[c.ENTERPRISE_USER_SCHEMA] == {
        "department": "Research",
        "manager": {
            "value": manager["id"],
            "$ref": f"{BASE}/Users/{manager['id']}",
            "displayName": "Boss",
        },
    }
    assert c.ENTERPRISE_USER_SCHEMA in new["schemas"]
    cleared = scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [
                {
                    "op": "replace",
                    "path": f"{c.ENTERPRISE_USER_SCHEMA}:manager",
                    "value": {"value": ""},
                }
            ],
        },
    )
    assert cleared.json()[c.ENTERPRISE_USER_SCHEMA] == {"department": "Research"}


@pytest.mark.django_db
def test_patch_is_all_or_nothing(scim):
    doc = created(scim)
    response = scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "nosuchattribute", "value": "x"},
            ],
        },
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidPath"
    assert scim.get(f"Users/{doc['id']}").json() == expected_user(doc)


@pytest.mark.django_db
def test_manager_must_be_a_user_of_the_organization(scim, other_scim):
    doc = created(scim)
    foreign = created(other_scim)
    response = scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [
                {"op": "add", "path": f"{c.ENTERPRISE_USER_SCHEMA}:manager", "value": foreign["id"]}
            ],
        },
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert foreign["id"] in response.json()["detail"]


@pytest.mark.django_db
def test_delete_user(scim):
    doc = created(scim)
    account_id = ScimUser.objects.get(pk=doc["id"]).account_id
    assert scim.delete(f"Users/{doc['id']}").status_code == 204
    assert scim.get(f"Users/{doc['id']}").status_code == 404
    assert get_user_model().objects.get(pk=account_id).is_active is False
    # A deleted user's userName can be provisioned again.
    assert scim.post("Users", OKTA_USER).status_code == 201


@pytest.mark.django_db
def test_idp_habits_on_create(scim):
    body = {
        "schemas": [c.USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:onelogin:2.0:User"],
        "USERNAME": "habit@example.com",
        "emails": {"value": "habit@example.com", "type": "work"},
        "active": "True",
        "nickName": None,
        "title": None,
    }
    response = scim.post("Users", body, content_type="application/json")
    assert response.status_code == 201, response.content
    doc = response.json()
    assert doc["userName"] == "habit@example.com"
    assert doc["emails"] == [{"value": "habit@example.com", "type": "work"}]
    assert doc["active"] is True
    assert "nickName" not in doc and "title" not in doc


@pytest.mark.django_db
def test_primary_false_is_kept(scim):
    doc = created(
        scim,
        {
            **OKTA_USER,
            "emails": [
                {"value": "a@x.com", "type": "work", "primary": False},
                {"value": "b@x.com", "type": "home"},
            ],
        },
    )
    assert doc["emails"] == [
        {"value": "a@x.com", "type": "work", "primary": False},
        {"value": "b@x.com", "type": "home"},
    ]
    found = scim.get("Users", {"filter": "emails[primary eq false]"}).json()
    assert found["totalResults"] == 1  # an unsent primary counts as false


@pytest.mark.django_db
def test_removing_active_leaves_it_unassigned_and_access_unchanged(scim):
    doc = created(scim)
    account = ScimUser.objects.get(pk=doc["id"]).account
    response = scim.patch(
        f"Users/{doc['id']}",
        {"schemas": [c.PATCH_OP], "Operations": [{"op": "remove", "path": "active"}]},
    )
    assert response.status_code == 200
    assert "active" not in response.json()
    account.refresh_from_db()
    assert account.is_active is True
    assert scim.get("Users", {"filter": "active pr"}).json()["totalResults"] == 0
    # A deactivated user whose active is then removed stays deactivated.
    scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    scim.patch(
        f"Users/{doc['id']}",
        {"schemas": [c.PATCH_OP], "Operations": [{"op": "remove", "path": "active"}]},
    )
    account.refresh_from_db()
    assert account.is_active is False
    scim.patch(
        f"Users/{doc['id']}",
        {"schemas": [c.PATCH_OP], "Operations": [{"op": "add", "path": "active", "value": True}]},
    )
    account.refresh_from_db()
    assert account.is_active is True


@pytest.mark.django_db
def test_put_without_active_keeps_a_deactivated_user_deactivated(scim):
    doc = created(scim)
    scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    body = {k: v for k, v in OKTA_USER.items() if k != "active"}
    assert scim.put(f"Users/{doc['id']}", body).json()["active"] is False
    assert ScimUser.objects.get(pk=doc["id"]).account.is_active is False


@pytest.mark.django_db
def test_deactivation_ends_sessions_of_accounts_with_a_password(scim, settings):
    settings.AXON_SCIM = {"STORE_PASSWORD": True}
    from django.test import Client

    doc = created(scim)
    browser = Client()
    assert browser.login(username="acme:isaac.brock@example.com", password="1mz050nq")
    assert browser.get("/admin/").wsgi_request.user.is_authenticated
    scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    scim.patch(
        f"Users/{doc['id']}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": True}],
        },
    )
    assert not browser.get("/admin/").wsgi_request.user.is_authenticated
    assert Client().login(username="acme:isaac.brock@example.com", password="1mz050nq")


@pytest.mark.django_db
def test_onelogin_legacy_enterprise_urn_is_read_as_enterprise_2(scim):
    doc = created(
        scim,
        {
            "schemas": ["urn:scim:schemas:core:1.0", "urn:scim:schemas:extension:enterprise:1.0"],
            "userName": "legacy@x.com",
            "urn:scim:schemas:extension:enterprise:1.0": {"department": "Finance"},
        },
    )
    assert doc[c.ENTERPRISE_USER_SCHEMA] == {"department": "Finance"}


@pytest.mark.django_db
def test_updates_keep_sso_sessions_open(scim, client):
    doc = created(scim)
    account = ScimUser.objects.get(pk=doc["id"]).account
    client.force_login(account)
    # Okta repeats the password on updates; it is not stored, so nothing about
    # the account's sign-in changes and its session goes on.
    assert scim.put(f"Users/{doc['id']}", {**OKTA_USER, "title": "CTO"}).status_code == 200
    assert client.get("/admin/").wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_a_write_answers_without_reading_its_rows_back(
    scim, django_assert_max_num_queries, settings
):
    settings.AXON_SCIM = {}  # no custom attributes: their rows would be one more read
    doc = created(scim)
    body = {
        "schemas": [c.PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "I. Brock"},
            {"op": "Replace", "path": "title", "value": "CTO"},
        ],
    }
    # token, lock, values, groups, the account (locked and read on its own),
    # user update, 3 for the audit chain; plus the SAVEPOINT and RELEASE that
    # the test's own transaction makes of BEGIN/COMMIT.
    with django_assert_max_num_queries(11):
        response = scim.patch(f"Users/{doc['id']}", body)
    assert response.json()["emails"] == [
        {"value": "isaac.brock@example.com", "type": "work", "primary": True}
    ]
