"""The Django admin: pages render, a token secret shows once, changes go through the services."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from axon_scim import services
from axon_scim.models import (
    AuditEvent,
    Organization,
    Role,
    RoleAssignment,
    ScimToken,
)

from .conftest import ScimClient, World
from .factories import AccountFactory, ScimGroupFactory, ScimMembershipFactory, make_role

pytestmark = pytest.mark.django_db

ADMIN = "/admin/axon_scim"
SECRET_MESSAGE = re.compile(r"it will not be shown again: (\S+)$")
ACTOR = services.Actor(label="tests")


def has_perm(account: Any, organization: Organization) -> bool:
    """Whether the account, read afresh, holds sso:configure on the organization."""
    fresh = type(account).objects.get(pk=account.pk)
    return bool(fresh.has_perm("axon_scim.configure_sso", organization))


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# Pages render


@pytest.mark.parametrize(
    "model",
    ["organization", "scimtoken", "scimgroup", "role", "roleassignment", "auditevent", "scimuser"],
)
def test_each_changelist_and_change_page_renders(
    admin_client: Client, world: World, model: str
) -> None:
    services.set_group_role(world.group.organization, ACTOR, world.group.pk, world.role.pk)

    changelist = admin_client.get(f"{ADMIN}/{model}/")

    assert changelist.status_code == 200
    objects = changelist.context["cl"].result_list
    assert len(objects) > 0
    assert admin_client.get(f"{ADMIN}/{model}/{objects[0].pk}/change/").status_code == 200


def test_group_changelist_costs_the_same_queries_for_more_groups(
    admin_client: Client, org: Organization
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(f"{ADMIN}/scimgroup/").status_code == 200
        return len(captured)

    for n in range(2):
        ScimMembershipFactory(
            group=ScimGroupFactory(organization=org, role=make_role(org, f"{n}", "configure_sso"))
        )
    few = queries()
    for n in range(2, 12):
        group = ScimGroupFactory(organization=org, role=make_role(org, f"{n}", "configure_sso"))
        ScimMembershipFactory.create_batch(3, group=group)

    assert queries() == few


def test_group_changelist_shows_the_member_count(admin_client: Client, world: World) -> None:
    ScimGroupFactory(organization=world.group.organization, display_name="Empty")

    changelist = admin_client.get(f"{ADMIN}/scimgroup/").context["cl"]

    counts = {group.display_name: group.member_count for group in changelist.result_list}
    # The superuser sees every organization: the other one's group counts its own member.
    assert counts == {"Operators": 2, "Empty": 0, world.foreign_group.display_name: 1}


# Tokens


def test_adding_a_token_shows_its_secret_once(
    admin_client: Client, admin_user: Any, org: Organization
) -> None:
    response = admin_client.post(
        f"{ADMIN}/scimtoken/add/",
        {"organization": org.pk, "label": "entra", "expires_0": "", "expires_1": ""},
        follow=True,
    )

    assert response.status_code == 200
    shown = messages_of(response)
    [secret] = [m.group(1) for m in map(SECRET_MESSAGE.search, shown) if m is not None]
    assert secret.startswith("axscim_")
    assert response.content.decode().count(secret) == 1
    token = ScimToken.objects.get(label="entra")
    assert token.secret_hash == ScimToken.hash_secret(secret)
    assert (token.organization, token.created_by, token.expires) == (org, admin_user, None)
    event = AuditEvent.objects.for_tenant(org).get(action="token.created")
    assert (event.resource_id, event.actor_user) == (str(token.pk), admin_user)
    # Never again: not on the next pages, not in the audit log.
    for url in (f"{ADMIN}/scimtoken/", f"{ADMIN}/scimtoken/{token.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert token.prefix in page
        assert secret not in page
        assert token.secret_hash not in page
    assert secret not in str(event.after)
    # The secret works as a SCIM bearer token of its organization.
    assert ScimClient(secret).get("Users").status_code == 200


def test_the_add_form_refuses_an_expiry_in_the_past(
    admin_client: Client, org: Organization
) -> None:
    response = admin_client.post(
        f"{ADMIN}/scimtoken/add/",
        {"organization": org.pk, "label": "late", "expires_0": "2001-01-01", "expires_1": "00:00"},
    )

    assert response.status_code == 200
    assert "The expiry must be in the future." in response.content.decode()
    assert not ScimToken.objects.filter(label="late").exists()


def test_tokens_cannot_be_edited_or_deleted(admin_client: Client, world: World) -> None:
    change = f"{ADMIN}/scimtoken/{world.token.pk}/change/"

    assert admin_client.post(change, {"label": "renamed", "prefix": "x"}).status_code == 403
    assert admin_client.get(f"{ADMIN}/scimtoken/{world.token.pk}/delete/").status_code == 403
    world.token.refresh_from_db()
    assert (world.token.label, world.token.revoked) == ("okta", None)


def test_the_revoke_action_revokes_the_selected_tokens(
    admin_client: Client, admin_user: Any, world: World, org: Organization
) -> None:
    _kept, kept_secret = services.issue_token(org, ACTOR, label="kept")
    assert ScimClient(world.secret).get("Users").status_code == 200

    response = admin_client.post(
        f"{ADMIN}/scimtoken/",
        {"action": "revoke_tokens", "_selected_action": [world.token.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 token(s)." in messages_of(response)
    world.token.refresh_from_db()
    assert world.token.revoked is not None
    assert ScimClient(world.secret).get("Users").status_code == 401
    assert ScimClient(kept_secret).get("Users").status_code == 200
    event = AuditEvent.objects.for_tenant(org).get(action="token.revoked")
    assert (event.resource_id, event.actor_user) == (str(world.token.pk), admin_user)


# Groups: the mapping goes through the service


def test_changing_a_group_role_grants_it_to_every_member(
    admin_client: Client, admin_user: Any, world: World, org: Organization
) -> None:
    url = f"{ADMIN}/scimgroup/{world.group.pk}/change/"

    response = admin_client.post(url, {"role": world.role.pk})

    assert response.status_code == 302
    world.group.refresh_from_db()
    assert world.group.role == world.role
    event = AuditEvent.objects.for_tenant(org).get(action="mapping.set")
    assert (event.resource_id, event.actor_user) == (str(world.group.pk), admin_user)
    assert AuditEvent.objects.for_tenant(org).filter(action="role.granted").count() == 2
    assert all(has_perm(member.account, org) for member in world.members)

    assert admin_client.post(url, {"role": ""}).status_code == 302

    world.group.refresh_from_db()
    assert world.group.role is None
    assert AuditEvent.objects.for_tenant(org).filter(action="mapping.cleared").count() == 1
    assert not any(has_perm(member.account, org) for member in world.members)


def test_a_group_cannot_be_mapped_to_a_role_of_another_organization(
    admin_client: Client, world: World, other_org: Organization
) -> None:
    foreign = make_role(other_org, "Foreign", "configure_sso")

    response = admin_client.post(
        f"{ADMIN}/scimgroup/{world.group.pk}/change/", {"role": foreign.pk}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["role"]
    world.group.refresh_from_db()
    assert world.group.role is None
    assert not AuditEvent.objects.filter(action="mapping.set").exists()


def test_the_group_form_changes_nothing_but_the_role(admin_client: Client, world: World) -> None:
    response = admin_client.post(
        f"{ADMIN}/scimgroup/{world.group.pk}/change/",
        {"role": "", "display_name": "Renamed", "external_id": "forged"},
    )

    assert response.status_code == 302
    world.group.refresh_from_db()
    assert (world.group.display_name, world.group.external_id) == ("Operators", None)
    assert admin_client.get(f"{ADMIN}/scimgroup/add/").status_code == 403
    assert admin_client.get(f"{ADMIN}/scimgroup/{world.group.pk}/delete/").status_code == 403


# Roles


def test_role_permissions_are_those_of_the_organization(admin_client: Client) -> None:
    form = admin_client.get(f"{ADMIN}/role/add/").context["adminform"].form

    choices = form.fields["permissions"].queryset

    assert {permission.content_type.model for permission in choices} == {"organization"}
    assert "configure_sso" in {permission.codename for permission in choices}


def test_a_role_in_use_cannot_be_deleted(
    admin_client: Client, world: World, org: Organization
) -> None:
    unused = make_role(org, "Unused", "configure_sso")
    services.set_group_role(org, ACTOR, world.group.pk, world.role.pk)

    assert admin_client.get(f"{ADMIN}/role/{world.role.pk}/delete/").status_code == 403
    assert (
        admin_client.post(f"{ADMIN}/role/{unused.pk}/delete/", {"post": "yes"}).status_code == 302
    )
    assert not Role.objects.filter(pk=unused.pk).exists()


# Role assignments: by hand through grant_role and revoke_role


def test_a_grant_by_hand_goes_through_the_service(
    admin_client: Client, admin_user: Any, world: World, org: Organization
) -> None:
    account = world.members[0].account

    response = admin_client.post(
        f"{ADMIN}/roleassignment/add/",
        {"organization": org.pk, "account": account.pk, "role": world.role.pk},
    )

    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(account=account)
    assert (assignment.role, assignment.group, assignment.organization) == (world.role, None, org)
    event = AuditEvent.objects.for_tenant(org).get(action="role.assigned_by_hand")
    assert event.actor_user == admin_user
    assert has_perm(account, org)

    response = admin_client.post(f"{ADMIN}/roleassignment/{assignment.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(account=account).exists()
    assert AuditEvent.objects.for_tenant(org).filter(action="role.unassigned_by_hand").count() == 1
    assert not has_perm(account, org)


def test_a_grant_by_hand_needs_a_role_of_the_same_organization(
    admin_client: Client, world: World, other_org: Organization
) -> None:
    response = admin_client.post(
        f"{ADMIN}/roleassignment/add/",
        {
            "organization": other_org.pk,
            "account": world.members[0].account.pk,
            "role": world.role.pk,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["role"] == [
        "This role belongs to another organization."
    ]
    assert not RoleAssignment.objects.exists()


def test_group_grants_cannot_be_deleted_by_hand(
    admin_client: Client, world: World, org: Organization
) -> None:
    services.set_group_role(org, ACTOR, world.group.pk, world.role.pk)
    from_group = RoleAssignment.objects.filter(group=world.group).first()
    assert from_group is not None

    assert admin_client.get(f"{ADMIN}/roleassignment/{from_group.pk}/delete/").status_code == 403
    response = admin_client.post(
        f"{ADMIN}/roleassignment/",
        {"action": "delete_selected", "_selected_action": [from_group.pk], "post": "yes"},
    )

    assert response.status_code == 403
    assert RoleAssignment.objects.filter(pk=from_group.pk).exists()
    assert has_perm(from_group.account, org)


# The audit log and SCIM users are read-only


def test_the_audit_log_refuses_add_change_and_delete(
    admin_client: Client, world: World, org: Organization
) -> None:
    event = AuditEvent.objects.for_tenant(org).get(action="token.created")
    before = AuditEvent.objects.count()

    assert admin_client.get(f"{ADMIN}/auditevent/add/").status_code == 403
    assert admin_client.post(f"{ADMIN}/auditevent/add/", {"action": "x"}).status_code == 403
    change = admin_client.post(f"{ADMIN}/auditevent/{event.pk}/change/", {"action": "forged"})
    assert change.status_code == 403
    assert (
        admin_client.post(f"{ADMIN}/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    bulk = admin_client.post(
        f"{ADMIN}/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code == 200
    event.refresh_from_db()
    assert event.action == "token.created"
    assert AuditEvent.objects.count() == before


def test_the_audit_log_filters_searches_and_lists_newest_first(
    admin_client: Client, world: World, org: Organization
) -> None:
    services.revoke_token(
        world.token, services.Actor(label="incident", request_id="req-7f3a", ip="10.0.0.9")
    )

    everything = admin_client.get(f"{ADMIN}/auditevent/").context["cl"].result_list
    times = [event.time for event in everything]
    assert times == sorted(times, reverse=True)
    assert everything[0].action == "token.revoked"

    def listed(**params: str) -> list[str]:
        response = admin_client.get(f"{ADMIN}/auditevent/", params)
        assert response.status_code == 200
        return [event.action for event in response.context["cl"].result_list]

    assert listed(q="req-7f3a") == ["token.revoked"]
    assert listed(q="incident") == ["token.revoked"]
    assert listed(q=str(world.token.pk), organization__id__exact=str(org.pk)) == [
        "token.revoked",
        "token.created",
    ]
    assert listed(action="token.created", organization__id__exact=str(org.pk)) == ["token.created"]
    assert listed(resource_type="Token", organization__id__exact=str(org.pk)) == [
        "token.revoked",
        "token.created",
    ]
    assert listed(**{"time__gte": "2999-01-01 00:00:00+00:00"}) == []


def test_scim_users_are_listed_searched_and_read_only(admin_client: Client, world: World) -> None:
    found = admin_client.get(f"{ADMIN}/scimuser/", {"q": "alice"}).context["cl"].result_list
    alice = world.members[0]

    assert [user.user_name for user in found] == ["alice@example.com"]
    assert admin_client.get(f"{ADMIN}/scimuser/add/").status_code == 403
    change = admin_client.post(f"{ADMIN}/scimuser/{alice.pk}/change/", {"user_name": "x"})
    assert change.status_code == 403
    assert admin_client.get(f"{ADMIN}/scimuser/{alice.pk}/delete/").status_code == 403


# Organizations: guardian's object permissions


def test_a_superuser_grants_sso_configure_per_organization(
    admin_client: Client, org: Organization, other_org: Organization
) -> None:
    portal_admin = AccountFactory(username="portal-admin")
    base = f"{ADMIN}/organization/{org.pk}/permissions/"

    assert admin_client.get(base).status_code == 200
    response = admin_client.post(
        f"{base}user-manage/{portal_admin.pk}/", {"permissions": ["configure_sso"]}
    )

    assert response.status_code == 302
    assert has_perm(portal_admin, org)
    assert not has_perm(portal_admin, other_org)


def test_staff_without_model_permissions_see_nothing(world: World) -> None:
    staff = AccountFactory(username="staff", is_staff=True)
    assign_perm("axon_scim.configure_sso", staff, world.group.organization)
    client = Client()
    client.force_login(staff)

    for model in ("scimtoken", "auditevent", "scimgroup"):
        assert client.get(f"{ADMIN}/{model}/").status_code == 403


def test_editing_a_role_goes_through_the_service_and_updates_its_holders(
    admin_client: Client, world: World, org: Organization
) -> None:
    account = world.members[0].account
    services.grant_role(org, ACTOR, account, world.role)
    view = Permission.objects.get(content_type__app_label="axon_scim", codename="view_organization")

    response = admin_client.post(
        f"{ADMIN}/role/{world.role.pk}/change/",
        {"name": "Viewer", "description": "reads", "permissions": [view.pk]},
    )

    assert response.status_code == 302, response.content
    fresh = type(account).objects.get(pk=account.pk)
    assert fresh.has_perm("axon_scim.view_organization", org)
    assert not has_perm(account, org)  # configure_sso left the role, so it left the holder
    event = AuditEvent.objects.for_tenant(org).get(action="role.updated")
    assert (event.before["name"], event.after["name"]) == ("Operator", "Viewer")
    assert event.after["permissions"] == ["view_organization"]
