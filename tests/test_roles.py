"""Roles follow groups: every effect of issue 3 item 2, through the SCIM API and the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from axon_scim import services, signals
from axon_scim.audit import Actor
from axon_scim.models import AuditEvent, Role, RoleAssignment, ScimUser
from axon_scim.protocol import constants as c
from axon_scim.protocol.errors import NotFoundError

from .conftest import patch_body, provision

ADMIN = Actor(label="portal admin")


def perm(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="axon_scim", codename=codename)


@pytest.fixture
def viewer(org) -> Role:
    role = Role.objects.create(organization=org, name="Viewer")
    role.permissions.add(perm("view_organization"))
    return role


@pytest.fixture
def editor(org) -> Role:
    role = Role.objects.create(organization=org, name="Editor")
    role.permissions.add(perm("view_organization"), perm("change_organization"))
    return role


def group(scim, name: str, *members: str) -> str:
    response = scim.post(
        "Groups",
        {
            "schemas": [c.GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in members],
        },
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def patch(scim, kind: str, pk: str, *operations: dict[str, Any]) -> None:
    response = scim.patch(f"{kind}/{pk}", patch_body(*operations))
    assert response.status_code == 200, response.content


def perms(org, user_id: str) -> set[str]:
    """The account's object permissions on the organization, read afresh (guardian caches)."""
    account = get_user_model().objects.get(scim_user__pk=user_id)
    return {p.rsplit(".", 1)[-1] for p in account.get_all_permissions(org)}


def roles_of(user_id: str) -> set[str]:
    account = ScimUser.objects.get(pk=user_id).account
    return set(RoleAssignment.objects.filter(account=account).values_list("role__name", flat=True))


@pytest.mark.django_db
def test_setting_a_mapping_grants_every_member_and_clearing_revokes(scim, org, viewer):
    alice, bob = provision(scim, "alice@x.com"), provision(scim, "bob@x.com")
    staff = group(scim, "Staff", alice, bob)
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    assert perms(org, alice) == perms(org, bob) == {"view_organization"}
    account = get_user_model().objects.get(scim_user__pk=alice)
    assert account.has_perm("axon_scim.view_organization", org)
    assert not account.has_perm("axon_scim.change_organization", org)
    granted = AuditEvent.objects.filter(action="role.granted")
    assert granted.count() == 2
    assert {e.after["account"] for e in granted} == {"acme:alice@x.com", "acme:bob@x.com"}
    assert AuditEvent.objects.get(action="mapping.set").after["role"] == "Viewer"
    services.set_group_role(org, ADMIN, staff, None)
    assert perms(org, alice) == perms(org, bob) == set()
    assert AuditEvent.objects.filter(action="role.revoked").count() == 2
    assert AuditEvent.objects.get(action="mapping.cleared").before["role"] == "Viewer"


@pytest.mark.django_db
def test_changing_a_mapping_swaps_roles(scim, org, viewer, editor):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff", alice)
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    services.set_group_role(org, ADMIN, staff, editor.pk)
    assert roles_of(alice) == {"Editor"}
    assert perms(org, alice) == {"view_organization", "change_organization"}


@pytest.mark.django_db
def test_membership_add_grants_and_removal_revokes(scim, org, viewer):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff")
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    patch(scim, "Groups", staff, {"op": "add", "path": "members", "value": [{"value": alice}]})
    assert perms(org, alice) == {"view_organization"}
    patch(scim, "Groups", staff, {"op": "remove", "path": f'members[value eq "{alice}"]'})
    assert perms(org, alice) == set()


@pytest.mark.django_db
def test_two_groups_granting_one_role(scim, org, viewer):
    alice = provision(scim, "alice@x.com")
    staff, ops = group(scim, "Staff", alice), group(scim, "Ops", alice)
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    services.set_group_role(org, ADMIN, ops, viewer.pk)
    assert AuditEvent.objects.filter(action="role.granted").count() == 1
    patch(scim, "Groups", staff, {"op": "remove", "path": "members", "value": [{"value": alice}]})
    assert perms(org, alice) == {"view_organization"}  # Ops still grants it
    services.set_group_role(org, ADMIN, ops, None)
    assert perms(org, alice) == set()
    assert AuditEvent.objects.filter(action="role.revoked").count() == 1


@pytest.mark.django_db
def test_deleting_a_group_revokes_its_role(scim, org, viewer):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff", alice)
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    assert scim.delete(f"Groups/{staff}").status_code == 204
    assert perms(org, alice) == set()


@pytest.mark.django_db
def test_deactivation_removes_and_reactivation_restores(scim, org, viewer, editor):
    alice = provision(scim, "alice@x.com")
    staff, ops = group(scim, "Staff", alice), group(scim, "Ops", alice)
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": False})
    assert roles_of(alice) == set() and perms(org, alice) == set()
    # While inactive, a new mapping grants nothing ...
    services.set_group_role(org, ADMIN, ops, editor.pk)
    assert perms(org, alice) == set()
    # ... and reactivation restores what the current groups grant.
    patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": True})
    assert roles_of(alice) == {"Viewer", "Editor"}
    assert perms(org, alice) == {"view_organization", "change_organization"}


@pytest.mark.django_db
def test_hand_granted_roles_are_never_touched_by_scim(scim, org, viewer):
    alice = provision(scim, "alice@x.com")
    account = ScimUser.objects.get(pk=alice).account
    services.grant_role(org, ADMIN, account, viewer)
    staff = group(scim, "Staff", alice)
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    patch(scim, "Groups", staff, {"op": "remove", "path": "members"})
    assert perms(org, alice) == {"view_organization"}
    services.set_group_role(org, ADMIN, staff, None)
    patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": False})
    assert RoleAssignment.objects.filter(account=account, group__isnull=True).count() == 1
    services.revoke_role(org, ADMIN, account, viewer)
    assert perms(org, alice) == set()


@pytest.mark.django_db
def test_mapping_change_while_members_change(scim, org, viewer, editor):
    alice, bob, carol = (provision(scim, f"{n}@x.com") for n in ("alice", "bob", "carol"))
    staff = group(scim, "Staff", alice, bob)
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    patch(
        scim,
        "Groups",
        staff,
        {"op": "add", "path": "members", "value": [{"value": carol}]},
        {"op": "remove", "path": "members", "value": [{"value": alice}]},
    )
    services.set_group_role(org, ADMIN, staff, editor.pk)
    patch(
        scim,
        "Groups",
        staff,
        {"op": "replace", "path": "members", "value": [{"value": alice}, {"value": carol}]},
    )
    assert roles_of(alice) == {"Editor"}
    assert roles_of(bob) == set()
    assert roles_of(carol) == {"Editor"}
    assert perms(org, bob) == set()


@pytest.mark.django_db
def test_add_then_remove_in_one_patch_grants_nothing(scim, org, viewer):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff")
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    patch(
        scim,
        "Groups",
        staff,
        {"op": "add", "path": "members", "value": [{"value": alice}]},
        {"op": "remove", "path": "members", "value": [{"value": alice}]},
    )
    assert perms(org, alice) == set()
    assert not AuditEvent.objects.filter(action="role.granted").exists()


@pytest.mark.django_db
def test_foreign_group_or_role_is_not_found(scim, org, other_org, viewer):
    staff = group(scim, "Staff")
    theirs = Role.objects.create(organization=other_org, name="Theirs")
    with pytest.raises(NotFoundError):
        services.set_group_role(org, ADMIN, staff, theirs.pk)
    with pytest.raises(NotFoundError):
        services.set_group_role(other_org, ADMIN, staff, viewer.pk)


@pytest.mark.django_db(transaction=True)
def test_signals_are_sent_after_commit(scim, org, viewer):
    received: list[tuple[str, dict[str, Any]]] = []

    def receiver(name):
        def receive(sender, **kwargs):
            received.append((name, kwargs))

        return receive

    handlers = {
        name: receiver(name)
        for name in (
            "user_provisioned",
            "user_deprovisioned",
            "user_reactivated",
            "group_membership_changed",
            "role_granted",
            "role_revoked",
        )
    }
    for name, handler in handlers.items():
        getattr(signals, name).connect(handler)
    try:
        alice = provision(scim, "alice@x.com")
        staff = group(scim, "Staff")
        services.set_group_role(org, ADMIN, staff, viewer.pk)
        patch(scim, "Groups", staff, {"op": "add", "path": "members", "value": [{"value": alice}]})
        patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": False})
        patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": True})
        scim.delete(f"Users/{alice}")
        # A failed change sends nothing.
        scim.patch(
            f"Groups/{staff}",
            {
                "schemas": [c.PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": "nope"}]}],
            },
        )
    finally:
        for name, handler in handlers.items():
            getattr(signals, name).disconnect(handler)
    names = [name for name, _ in received]
    assert names == [
        "user_provisioned",
        "role_granted",
        "group_membership_changed",
        "role_revoked",
        "user_deprovisioned",
        "role_granted",
        "user_reactivated",
        "role_revoked",
        "user_deprovisioned",
        "group_membership_changed",
    ]
    membership = next(kw for name, kw in received if name == "group_membership_changed")
    assert (membership["added"], membership["removed"]) == ([alice], [])
    assert received[-2][1]["deleted"] is True
    assert (received[-1][1]["added"], received[-1][1]["removed"]) == ([], [alice])
    assert received[1][1]["role"] == viewer and received[1][1]["group"].display_name == "Staff"


@pytest.mark.django_db
def test_permissions_granted_outside_roles_are_never_revoked(scim, org, editor):
    from guardian.shortcuts import assign_perm, get_user_perms

    alice = provision(scim, "alice@x.com")
    account = ScimUser.objects.get(pk=alice).account
    assign_perm("axon_scim.change_organization", account, org)  # a direct grant, not a role
    staff = group(scim, "Staff", alice)
    services.set_group_role(org, ADMIN, staff, editor.pk)
    assert perms(org, alice) == {"view_organization", "change_organization"}
    patch(scim, "Groups", staff, {"op": "remove", "path": f'members[value eq "{alice}"]'})
    assert perms(org, alice) == {"change_organization"}
    patch(scim, "Groups", staff, {"op": "add", "path": "members", "value": [{"value": alice}]})
    patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": False})
    # (An inactive account has no permissions at all; read the stored grants.)
    assert set(get_user_perms(account, org)) == {"change_organization"}


@pytest.mark.django_db
def test_editing_a_role_moves_its_holders(scim, org, viewer):
    alice = provision(scim, "alice@x.com")
    staff = group(scim, "Staff", alice)
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    services.save_role(org, ADMIN, viewer, name="Viewer", permissions=[perm("change_organization")])
    assert perms(org, alice) == {"change_organization"}
    created = services.save_role(org, ADMIN, None, name="Auditor")
    assert AuditEvent.objects.get(action="role.created").after == {
        "name": "Auditor",
        "description": "",
        "permissions": [],
    }
    assert created.organization == org


@pytest.mark.django_db
def test_an_unassigned_active_keeps_a_deactivated_user_out_of_group_roles(scim, org, viewer):
    # Removing ``active`` changes nothing: the account stays disabled, so a mapped
    # group the user joins afterwards grants it nothing, and neither does a new mapping.
    alice = provision(scim, "alice@x.com")
    patch(scim, "Users", alice, {"op": "replace", "path": "active", "value": False})
    patch(scim, "Users", alice, {"op": "remove", "path": "active"})
    assert ScimUser.objects.get(pk=alice).active is None
    staff = group(scim, "Staff")
    services.set_group_role(org, ADMIN, staff, viewer.pk)
    patch(scim, "Groups", staff, {"op": "add", "path": "members", "value": [{"value": alice}]})
    ops = group(scim, "Ops", alice)
    services.set_group_role(org, ADMIN, ops, viewer.pk)
    assert roles_of(alice) == set()
    assert perms(org, alice) == set()
    assert not get_user_model().objects.get(scim_user__pk=alice).is_active
