"""The audit replay the storm relies on: quiet on real changes, loud on claims that are false."""

from __future__ import annotations

import pytest

from axon_scim import services
from axon_scim.audit import Actor, record_event
from axon_scim.models import Organization, ScimGroup
from axon_scim.protocol.constants import GROUP_SCHEMA

from .audit_replay import audit_problems
from .conftest import ScimClient, patch_body, provision
from .factories import make_role

pytestmark = pytest.mark.django_db

ACTOR = Actor(label="tests")


def members(scim: ScimClient, group_id: str, op: str, *user_ids: str) -> None:
    body = patch_body({"op": op, "path": "members", "value": [{"value": u} for u in user_ids]})
    assert scim.patch(f"Groups/{group_id}", body).status_code == 200


@pytest.fixture
def group_id(org: Organization, scim: ScimClient) -> str:
    response = scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Ops"})
    assert response.status_code == 201
    return str(response.json()["id"])


def test_real_changes_replay_cleanly(org: Organization, scim: ScimClient, group_id: str) -> None:
    alice, bob = provision(scim, "alice@x.test"), provision(scim, "bob@x.test")
    services.set_group_role(org, ACTOR, group_id, make_role(org, "Op", "configure_sso").pk)
    members(scim, group_id, "add", alice, bob)
    members(scim, group_id, "remove", bob)
    for active in (False, True):
        body = patch_body({"op": "replace", "path": "active", "value": active})
        assert scim.patch(f"Users/{alice}", body).status_code == 200
    rename = patch_body({"op": "replace", "path": "displayName", "value": "Operators"})
    assert scim.patch(f"Groups/{group_id}", rename).status_code == 200
    assert scim.delete(f"Users/{alice}").status_code == 204
    services.set_group_role(org, ACTOR, group_id, None)

    assert audit_problems(org) == []


def test_a_claimed_add_of_a_member_is_reported(
    org: Organization, scim: ScimClient, group_id: str
) -> None:
    alice = provision(scim, "alice@x.test")
    members(scim, group_id, "add", alice)
    record_event(org, ACTOR, "group.updated", "Group", group_id, after={"membersAdded": [alice]})

    problems = audit_problems(org)

    assert problems[0].startswith(f"Group {group_id}: #")
    assert problems[0].endswith(f"claims {alice} added; already in")
    assert f"Group {group_id}: version 2, but 2 events claim a change" in problems


def test_a_membership_without_an_event_and_a_lost_deactivation_are_reported(
    org: Organization, scim: ScimClient, group_id: str
) -> None:
    alice = provision(scim, "alice@x.test")
    ScimGroup.objects.get(pk=group_id).memberships.create(organization=org, user_id=alice)
    record_event(org, ACTOR, "user.updated", "User", alice, before={}, after={"active": False})

    assert audit_problems(org) == [
        f"Group {group_id}: members changed without an event: ['{alice}']",
        f"User {alice}: version 1, but 1 user.updated and 0 group events claim a change",
        f"User {alice}: 0 user.deactivated events for 1 such steps of active",
    ]


def test_a_change_of_custom_values_alone_replays_cleanly(
    org: Organization, scim: ScimClient, group_id: str, settings: object
) -> None:
    team = "urn:example:params:scim:schemas:extension:acme:2.0:Group"
    declaration = {"urn": team, "resourceType": "Group", "attributes": [{"name": "costCenter"}]}
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [declaration]}  # type: ignore[attr-defined]
    body = patch_body({"op": "add", "path": f"{team}:costCenter", "value": "CC-1"})
    assert scim.patch(f"Groups/{group_id}", body).status_code == 200
    replaced = {"displayName": "Ops", team: {"costCenter": "CC-2"}}
    assert scim.put(f"Groups/{group_id}", replaced).status_code == 200
    assert ScimGroup.objects.get(pk=group_id).version == 3

    assert audit_problems(org) == []
