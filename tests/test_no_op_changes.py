"""A request that changes nothing is a no-op in every respect (issue 7, finding 5).

It answers as usual, but no version moves, no audit event claims a change and
no signal is sent: removing a member who is not there, adding one who is,
repeating a user's or a group's current values, mapping a group to the role
it already has, granting a role already granted, saving a role unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from axon_scim import services, signals
from axon_scim.audit import Actor
from axon_scim.models import AuditEvent, Role, ScimGroup, ScimUser
from axon_scim.protocol import constants as c

from .conftest import ScimClient, patch_body, provision
from .factories import make_role

ADMIN = Actor(label="portal admin")


def group(scim: ScimClient, name: str, *members: str) -> str:
    body = {
        "schemas": [c.GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": m} for m in members],
    }
    response = scim.post("Groups", body)
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def patch(scim: ScimClient, kind: str, pk: str, *operations: dict[str, Any]) -> dict[str, Any]:
    response = scim.patch(f"{kind}/{pk}", patch_body(*operations))
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def versions(*ids: str) -> list[int]:
    """The versions of the users and groups ``ids``, in that order."""
    found = {
        **dict(ScimUser.objects.filter(pk__in=ids).values_list("pk", "version")),
        **dict(ScimGroup.objects.filter(pk__in=ids).values_list("pk", "version")),
    }
    return [found[pk] for pk in map(_uuid, ids)]


def _uuid(value: str) -> Any:
    return services.parse_id(value)


def events() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


@pytest.fixture
def membership_signals() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.group_membership_changed.connect(receive)
    yield received
    signals.group_membership_changed.disconnect(receive)


def members(value: str) -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": [{"value": value}]}


@pytest.mark.django_db(transaction=True)
def test_removing_a_non_member_changes_nothing(scim, membership_signals):
    alice, bob = provision(scim, "alice@x.com"), provision(scim, "bob@x.com")
    staff = group(scim, "Staff", alice)
    before, logged, sent = versions(staff, alice, bob), events(), len(membership_signals)
    for operation in (
        {"op": "remove", "path": "members", "value": [{"value": bob}]},
        {"op": "remove", "path": f'members[value eq "{bob}"]'},
    ):
        answer = patch(scim, "Groups", staff, operation)
        assert answer["meta"]["version"] == f'W/"{before[0]}"'
        assert [m["value"] for m in answer["members"]] == [alice]
    assert versions(staff, alice, bob) == before
    assert events() == logged
    assert len(membership_signals) == sent


@pytest.mark.django_db(transaction=True)
def test_re_adding_a_member_changes_nothing(scim, membership_signals):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff", alice)
    before, logged, sent = versions(staff, alice), events(), len(membership_signals)
    patch(scim, "Groups", staff, members(alice))
    patch(scim, "Groups", staff, members(alice.upper()))  # the same id, written differently
    patch(scim, "Groups", staff, {"op": "replace", "path": "members", "value": [{"value": alice}]})
    assert versions(staff, alice) == before
    assert events() == logged
    assert len(membership_signals) == sent


@pytest.mark.django_db
def test_a_change_is_audited_with_what_really_changed(scim):
    alice, bob, carol = (provision(scim, f"{n}@x.com") for n in ("alice", "bob", "carol"))
    staff = group(scim, "Staff", alice)
    before = versions(staff, alice, bob, carol)
    patch(
        scim,
        "Groups",
        staff,
        {"op": "add", "path": "members", "value": [{"value": alice}, {"value": carol}]},
        {"op": "remove", "path": "members", "value": [{"value": alice}, {"value": bob}]},
    )
    event = AuditEvent.objects.filter(action="group.updated").latest("id")
    assert event.after["membersAdded"] == [carol] and event.after["membersAddedCount"] == 1
    assert event.after["membersRemoved"] == [alice] and event.after["membersRemovedCount"] == 1
    # The group, alice (who left) and carol (who joined) move on; bob stays where he was.
    assert versions(staff, alice, bob, carol) == [
        before[0] + 1,
        before[1] + 1,
        before[2],
        before[3] + 1,
    ]


@pytest.mark.django_db
def test_adding_and_removing_one_member_in_one_patch_changes_nothing(scim):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff")
    before, logged = versions(staff, alice), events()
    patch(
        scim,
        "Groups",
        staff,
        members(alice),
        {"op": "remove", "path": "members", "value": [{"value": alice}]},
    )
    assert versions(staff, alice) == before
    assert events() == logged


@pytest.mark.django_db
def test_repeating_a_group_changes_nothing(scim):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff", alice)
    before, logged = versions(staff, alice), events()
    patch(scim, "Groups", staff, {"op": "replace", "path": "displayName", "value": "Staff"})
    patch(scim, "Groups", staff, {"op": "replace", "value": {"id": staff, "displayName": "Staff"}})
    body = {"schemas": [c.GROUP_SCHEMA], "displayName": "Staff", "members": [{"value": alice}]}
    replaced = scim.put(f"Groups/{staff}", body)
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["meta"]["version"] == f'W/"{before[0]}"'
    assert versions(staff, alice) == before
    assert events() == logged


@pytest.mark.django_db
def test_repeating_a_user_changes_nothing(scim):
    body = {
        "schemas": [c.USER_SCHEMA],
        "userName": "alice@x.com",
        "name": {"givenName": "Alice", "familyName": "Liddell"},
        "emails": [{"value": "alice@x.com", "type": "work", "primary": True}],
        "active": True,
    }
    alice = provision(scim, "alice@x.com", **{k: v for k, v in body.items() if k != "userName"})
    logged = events()
    patch(scim, "Users", alice, {"op": "replace", "path": "name.givenName", "value": "Alice"})
    patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": "True"})
    patch(scim, "Users", alice, {"op": "replace", "value": {"userName": "alice@x.com"}})
    read = scim.get(f"Users/{alice}").json()
    replaced = scim.put(f"Users/{alice}", {**read, "groups": []})
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["meta"]["version"] == 'W/"1"'
    assert scim.put(f"Users/{alice}", body).json()["meta"]["version"] == 'W/"1"'
    assert versions(alice) == [1]
    assert events() == logged


@pytest.mark.django_db
def test_deactivating_twice_deactivates_once(scim):
    alice = provision(scim, "alice@x.com")
    for _ in range(2):
        patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": False})
    assert events().count("user.deactivated") == 1
    assert events().count("user.updated") == 1
    assert versions(alice) == [2]


@pytest.mark.django_db
def test_repeated_role_changes_record_nothing(scim, org):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff", alice)
    viewer = make_role(org, "Viewer", "view_organization")
    account = ScimUser.objects.get(pk=alice).account
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    services.grant_role(org, ADMIN, account, viewer)
    logged = events()
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    services.grant_role(org, ADMIN, account, viewer)
    services.save_role(
        org, ADMIN, viewer, name="Viewer", permissions=list(viewer.permissions.all())
    )
    other = Role.objects.create(organization=org, name="Other")
    services.revoke_role(org, ADMIN, account, other)
    assert events() == logged
