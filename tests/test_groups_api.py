"""The /Groups endpoints: members as set operations, IdP PATCH shapes, whole bodies."""

from __future__ import annotations

from typing import Any

import pytest

from axon_scim.models import AuditEvent, ScimGroup, ScimMembership
from axon_scim.protocol import constants as c

from .conftest import patch_body
from .factories import ScimUserFactory

BASE = "http://testserver/scim/v2"


@pytest.fixture
def people(org):
    return [
        ScimUserFactory(organization=org, user_name=f"p{i}@x.com", display_name=f"P{i}")
        for i in range(4)
    ]


def member(user) -> dict[str, Any]:
    return {
        "value": str(user.pk),
        "$ref": f"{BASE}/Users/{user.pk}",
        "display": user.display_name,
        "type": "User",
    }


def new_group(scim, name="Engineering", members=()) -> dict[str, Any]:
    response = scim.post(
        "Groups",
        {
            "schemas": [c.GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": str(u.pk)} for u in members],
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def members_of(group_id: str) -> set[str]:
    return {
        str(pk)
        for pk in ScimMembership.objects.filter(group_id=group_id).values_list("user_id", flat=True)
    }


@pytest.mark.django_db
def test_create_and_read_group(scim, people):
    doc = new_group(scim, members=people[:2])
    assert doc == {
        "schemas": [c.GROUP_SCHEMA],
        "id": doc["id"],
        "displayName": "Engineering",
        "members": [member(people[0]), member(people[1])],
        "meta": {
            "resourceType": "Group",
            "created": doc["meta"]["created"],
            "lastModified": doc["meta"]["lastModified"],
            "location": f"{BASE}/Groups/{doc['id']}",
            "version": 'W/"1"',
        },
    }
    assert scim.get(f"Groups/{doc['id']}").json() == doc
    lean = scim.get(f"Groups/{doc['id']}", {"excludedAttributes": "members"}).json()
    assert "members" not in lean and lean["displayName"] == "Engineering"
    user = scim.get(f"Users/{people[0].pk}").json()
    assert user["groups"] == [
        {
            "value": doc["id"],
            "$ref": f"{BASE}/Groups/{doc['id']}",
            "display": "Engineering",
            "type": "direct",
        }
    ]


@pytest.mark.django_db
def test_display_name_unique_case_insensitively(scim):
    new_group(scim, "Sales")
    response = scim.post("Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "SALES"})
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


@pytest.mark.django_db
def test_patch_add_and_remove_members_entra(scim, people):
    doc = new_group(scim, members=people[:1])
    gid = doc["id"]
    added = scim.patch(
        f"Groups/{gid}",
        patch_body(
            {
                "op": "Add",
                "path": "members",
                "value": [{"value": str(people[1].pk)}, {"value": str(people[2].pk)}],
            }
        ),
    )
    assert added.status_code == 200, added.content
    assert members_of(gid) == {str(p.pk) for p in people[:3]}
    removed = scim.patch(
        f"Groups/{gid}",
        patch_body({"op": "Remove", "path": "members", "value": [{"value": str(people[0].pk)}]}),
    )
    assert removed.status_code == 200
    assert members_of(gid) == {str(p.pk) for p in people[1:3]}
    by_filter = scim.patch(
        f"Groups/{gid}", patch_body({"op": "remove", "path": f'members[value eq "{people[1].pk}"]'})
    )
    assert by_filter.status_code == 200
    assert members_of(gid) == {str(people[2].pk)}
    # Removing someone who is not a member succeeds and changes nothing.
    again = scim.patch(
        f"Groups/{gid}", patch_body({"op": "remove", "path": f'members[value eq "{people[3].pk}"]'})
    )
    assert again.status_code == 200
    assert members_of(gid) == {str(people[2].pk)}


@pytest.mark.django_db
def test_okta_rename_patch_repeats_id(scim):
    doc = new_group(scim)
    response = scim.patch(
        f"Groups/{doc['id']}",
        patch_body({"op": "replace", "value": {"id": doc["id"], "displayName": "Platform"}}),
    )
    assert response.status_code == 200, response.content
    assert response.json()["displayName"] == "Platform"
    other = scim.patch(
        f"Groups/{doc['id']}",
        patch_body({"op": "replace", "value": {"id": "00000000-0000-0000-0000-000000000000"}}),
    )
    assert other.status_code == 400
    assert other.json()["scimType"] == "mutability"


@pytest.mark.django_db
def test_replace_members_and_remove_all(scim, people):
    doc = new_group(scim, members=people[:2])
    scim.patch(
        f"Groups/{doc['id']}",
        patch_body({"op": "replace", "path": "members", "value": [{"value": str(people[3].pk)}]}),
    )
    assert members_of(doc["id"]) == {str(people[3].pk)}
    scim.patch(f"Groups/{doc['id']}", patch_body({"op": "remove", "path": "members"}))
    assert members_of(doc["id"]) == set()


@pytest.mark.django_db
def test_unknown_member_is_400_and_nothing_changes(scim, people, other_org):
    doc = new_group(scim, members=people[:1])
    foreign = ScimUserFactory(organization=other_org)
    response = scim.patch(
        f"Groups/{doc['id']}",
        patch_body(
            {"op": "add", "path": "members", "value": [{"value": str(people[1].pk)}]},
            {"op": "add", "path": "members", "value": [{"value": str(foreign.pk)}]},
            {"op": "replace", "path": "displayName", "value": "Renamed"},
        ),
    )
    assert response.status_code == 400
    assert response.json() == {
        "schemas": [c.ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": f'Member "{foreign.pk}" is not a user or group of this organization.',
    }
    assert members_of(doc["id"]) == {str(people[0].pk)}
    assert scim.get(f"Groups/{doc['id']}").json()["displayName"] == "Engineering"
    assert not AuditEvent.objects.filter(action="group.updated").exists()


@pytest.mark.django_db
def test_nested_group_member(scim, people):
    child = new_group(scim, "Child")
    parent = scim.post(
        "Groups",
        {"schemas": [c.GROUP_SCHEMA], "displayName": "Parent", "members": [{"value": child["id"]}]},
    ).json()
    assert parent["members"] == [
        {
            "value": child["id"],
            "$ref": f"{BASE}/Groups/{child['id']}",
            "display": "Child",
            "type": "Group",
        }
    ]
    itself = scim.patch(
        f"Groups/{parent['id']}",
        patch_body({"op": "add", "path": "members", "value": [{"value": parent["id"]}]}),
    )
    assert itself.status_code == 400


@pytest.mark.django_db
def test_put_group_replaces_members(scim, people):
    doc = new_group(scim, members=people[:2])
    response = scim.put(
        f"Groups/{doc['id']}",
        {
            "schemas": [c.GROUP_SCHEMA],
            "displayName": "Eng",
            "id": doc["id"],
            "members": [{"value": str(people[1].pk)}, {"value": str(people[2].pk)}],
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["displayName"] == "Eng"
    assert members_of(doc["id"]) == {str(people[1].pk), str(people[2].pk)}


@pytest.mark.django_db
def test_group_filters(scim, people):
    eng = new_group(scim, "Engineering", members=people[:2])
    new_group(scim, "Sales", members=people[2:])
    by_name = scim.get(
        "Groups", {"filter": 'displayName eq "engineering"', "excludedAttributes": "members"}
    ).json()
    assert [g["id"] for g in by_name["Resources"]] == [eng["id"]]
    by_member = scim.get("Groups", {"filter": f'members[value eq "{people[0].pk}"]'}).json()
    assert [g["id"] for g in by_member["Resources"]] == [eng["id"]]


@pytest.mark.django_db
def test_delete_group(scim, people):
    doc = new_group(scim, members=people[:2])
    assert scim.delete(f"Groups/{doc['id']}").status_code == 204
    assert scim.get(f"Groups/{doc['id']}").status_code == 404
    assert ScimMembership.objects.count() == 0
    assert scim.get(f"Users/{people[0].pk}").status_code == 200


@pytest.mark.django_db
def test_membership_changes_give_users_and_groups_new_versions(scim, people):
    user_etag = scim.get(f"Users/{people[0].pk}")["ETag"]
    doc = new_group(scim, members=people[:1])
    # Joining a group changes the user's groups, so its version too: no stale 304.
    assert (
        scim.get(f"Users/{people[0].pk}", headers={"If-None-Match": user_etag}).status_code == 200
    )
    user_etag = scim.get(f"Users/{people[0].pk}")["ETag"]
    scim.patch(f"Groups/{doc['id']}", patch_body({"op": "remove", "path": "members"}))
    assert (
        scim.get(f"Users/{people[0].pk}", headers={"If-None-Match": user_etag}).status_code == 200
    )
    scim.patch(
        f"Groups/{doc['id']}",
        patch_body({"op": "add", "path": "members", "value": [{"value": str(people[1].pk)}]}),
    )
    group_etag = scim.get(f"Groups/{doc['id']}")["ETag"]
    # Deleting a member changes the group.
    assert scim.delete(f"Users/{people[1].pk}").status_code == 204
    after = scim.get(f"Groups/{doc['id']}", headers={"If-None-Match": group_etag})
    assert after.status_code == 200 and after.json()["members"] == []
    event = AuditEvent.objects.filter(action="group.updated", resource_id=doc["id"]).latest("id")
    assert event.after["membersRemoved"] == [str(people[1].pk)]


@pytest.mark.django_db
def test_members_written_as_text_match_the_members_as_values(scim, org, people):
    import json

    from axon_scim.rendering import GroupRenderer

    people[0].display_name = 'Zoë "Z" \\ O\'Neil'
    people[0].save()
    people[1].display_name = ""
    people[1].save()
    child = new_group(scim, "Child")
    doc = scim.post(
        "Groups",
        {
            "schemas": [c.GROUP_SCHEMA],
            "displayName": "Parent",
            "members": [
                {"value": str(people[0].pk)},
                {"value": str(people[1].pk)},
                {"value": child["id"]},
            ],
        },
    ).json()
    serializer = GroupRenderer(BASE, org.pk)
    as_text = json.loads(serializer.members_json(doc["id"]))
    assert (
        as_text
        == serializer.members_of([ScimGroup.objects.get(pk=doc["id"]).pk])[
            ScimGroup.objects.get(pk=doc["id"]).pk
        ]
    )
    assert doc["members"] == as_text
    assert as_text[0]["display"] == 'Zoë "Z" \\ O\'Neil' and "display" not in as_text[1]
    # The same members when a projection goes through the general path.
    projected = scim.get(f"Groups/{doc['id']}", {"attributes": "members"}).json()
    assert projected["members"] == as_text
