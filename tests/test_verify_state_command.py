"""``verify_scim_state``: a state built through SCIM passes; each invariant, broken with rows
written directly, is named with the resource that breaks it."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from guardian.shortcuts import assign_perm, remove_perm

from axon_scim import services
from axon_scim.audit import record_event
from axon_scim.models import (
    ManagedPermission,
    Organization,
    Role,
    RoleAssignment,
    ScimGroup,
    ScimMembership,
    ScimUser,
)
from axon_scim.protocol.constants import GROUP_SCHEMA

from .conftest import ScimClient, patch_body, provision
from .factories import make_role

pytestmark = pytest.mark.django_db

ACTOR = services.Actor(label="tests")


def run(*args: str) -> str:
    """Run the command; return its stdout."""
    out = StringIO()
    call_command("verify_scim_state", *args, stdout=out)
    return out.getvalue()


def run_failing(*args: str) -> str:
    """Run the command expecting it to fail with exit status 1; return its stdout."""
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_scim_state", *args, stdout=out)
    assert failure.value.returncode == 1
    return out.getvalue()


def broken_line(*args: str) -> str:
    """The first BROKEN line of a failing run."""
    return next(line for line in run_failing(*args).splitlines() if "BROKEN" in line)


@dataclass
class State:
    """acme: group Ops mapped to Operator with members alice and bob (deactivated), group Misc
    unmapped, carol holding Operator by hand, dave deleted; globex: one user in one group."""

    org: Organization
    role: Role
    ops: ScimGroup
    misc: ScimGroup
    alice: ScimUser
    bob: ScimUser
    carol: ScimUser
    dave_id: str
    foreign_group: ScimGroup


def account(user: ScimUser) -> Any:
    """The portal account of a user provisioned through SCIM, which always has one."""
    assert user.account is not None
    return user.account


def add_members(scim: ScimClient, group_id: str, *user_ids: str) -> None:
    body = patch_body({"op": "add", "path": "members", "value": [{"value": u} for u in user_ids]})
    assert scim.patch(f"Groups/{group_id}", body).status_code == 200


def set_active(scim: ScimClient, user_id: str, active: bool) -> None:
    body = patch_body({"op": "replace", "path": "active", "value": active})
    assert scim.patch(f"Users/{user_id}", body).status_code == 200


def new_group(scim: ScimClient, name: str) -> str:
    response = scim.post("Groups", {"schemas": [GROUP_SCHEMA], "displayName": name})
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


@pytest.fixture
def state(
    org: Organization, other_org: Organization, scim: ScimClient, other_scim: ScimClient
) -> State:
    role = make_role(org, "Operator", "configure_sso")
    alice, bob, carol, dave = (
        provision(scim, f"{n}@acme.test") for n in ("alice", "bob", "carol", "dave")
    )
    ops, misc = new_group(scim, "Ops"), new_group(scim, "Misc")
    services.set_group_role(org, ACTOR, ops, role.pk)
    add_members(scim, ops, alice, bob, dave)
    add_members(scim, misc, alice, ops)
    set_active(scim, bob, False)
    services.grant_role(org, ACTOR, ScimUser.objects.get(pk=carol).account, role)
    assert scim.delete(f"Users/{dave}").status_code == 204
    foreign = new_group(other_scim, "Theirs")
    add_members(other_scim, foreign, provision(other_scim, "eve@globex.test"))
    users = {str(u.pk): u for u in ScimUser.objects.select_related("account")}
    return State(
        org=org,
        role=role,
        ops=ScimGroup.objects.get(pk=ops),
        misc=ScimGroup.objects.get(pk=misc),
        alice=users[alice],
        bob=users[bob],
        carol=users[carol],
        dave_id=dave,
        foreign_group=ScimGroup.objects.get(pk=foreign),
    )


def test_a_state_built_through_scim_is_consistent(state: State) -> None:
    assert run() == (
        "acme: ok: 3 users, 2 groups, 1 deleted users, 2 accounts with roles\n"
        "globex: ok: 1 users, 1 groups, 0 deleted users, 0 accounts with roles\n"
    )


def test_small_batches_read_every_row(state: State) -> None:
    assert run("acme", "--batch-size", "1") == (
        "acme: ok: 3 users, 2 groups, 1 deleted users, 2 accounts with roles\n"
    )
    ScimUser.objects.filter(pk=state.carol.pk).update(active=False)  # the last user of 3

    assert broken_line("acme", "--batch-size", "1").startswith(
        f"acme: BROKEN: active: User {state.carol.pk}: "
    )


def test_an_unassigned_active_follows_the_last_explicit_value(
    state: State, scim: ScimClient
) -> None:
    body = patch_body({"op": "remove", "path": "active"})
    assert scim.patch(f"Users/{state.bob.pk}", body).status_code == 200
    assert ScimUser.objects.get(pk=state.bob.pk).active is None
    assert run("acme").startswith("acme: ok")

    get_user_model().objects.filter(pk=account(state.bob).pk).update(is_active=True)

    assert broken_line("acme") == (
        f"acme: BROKEN: active: User {state.bob.pk}: SCIM active is null (unassigned; last "
        f"explicit value false) but account {state.bob.account_id} has is_active=True"
    )


def test_a_scim_user_whose_account_disagrees_is_named(state: State) -> None:
    ScimUser.objects.filter(pk=state.alice.pk).update(active=False)

    out = run_failing()

    assert out.splitlines() == [
        f"acme: BROKEN: active: User {state.alice.pk}: SCIM active is false "
        f"but account {state.alice.account_id} has is_active=True",
        "globex: ok: 1 users, 1 groups, 0 deleted users, 0 accounts with roles",
    ]


def test_a_deleted_users_active_account_is_named(state: State) -> None:
    retired = get_user_model().objects.get(username__startswith=f"deleted:{state.dave_id}:")
    assert not retired.is_active
    get_user_model().objects.filter(pk=retired.pk).update(is_active=True)

    assert broken_line("acme").startswith(
        f"acme: BROKEN: deleted: User {state.dave_id}: deleted (audit event "
    )
    assert broken_line("acme").endswith(f"but its account {retired.pk} is active")


def test_a_deleted_user_whose_row_remains_is_named(state: State) -> None:
    record_event(state.org, ACTOR, "user.deleted", "User", str(state.carol.pk).upper())

    assert broken_line("acme").startswith(f"acme: BROKEN: deleted: User {state.carol.pk}: ")


def test_a_missing_group_assignment_is_named(state: State) -> None:
    RoleAssignment.objects.filter(account=account(state.alice), group=state.ops).delete()

    assert broken_line("acme") == (
        f"acme: BROKEN: roles: User {state.alice.pk}: account {state.alice.account_id} "
        f"lacks role {state.role.pk}, which mapped group {state.ops.pk} grants its members"
    )


def test_an_assignment_of_a_deactivated_member_is_named(state: State) -> None:
    RoleAssignment.objects.create(
        organization=state.org, account=account(state.bob), role=state.role, group=state.ops
    )

    assert broken_line("acme") == (
        f"acme: BROKEN: roles: User {state.bob.pk}: account {state.bob.account_id} holds "
        f"role {state.role.pk} through group {state.ops.pk}, but the user is deactivated"
    )


def test_an_assignment_through_a_group_that_maps_another_role_is_named(state: State) -> None:
    other = make_role(state.org, "Viewer")
    ScimGroup.objects.filter(pk=state.ops.pk).update(role=other)

    assert broken_line("acme") == (
        f"acme: BROKEN: roles: User {state.alice.pk}: account {state.alice.account_id} "
        f"lacks role {other.pk}, which mapped group {state.ops.pk} grants its members"
    )


def test_an_assignment_through_a_group_of_a_non_member_is_named(state: State) -> None:
    RoleAssignment.objects.create(
        organization=state.org, account=account(state.carol), role=state.role, group=state.misc
    )

    assert broken_line("acme").endswith(
        f"holds role {state.role.pk} through group {state.misc.pk}, but the user is no member "
        f"of group {state.misc.pk}, or the group maps no role"
    )


def test_a_group_assignment_of_a_retired_account_is_named(state: State) -> None:
    retired = get_user_model().objects.get(username__startswith=f"deleted:{state.dave_id}:")
    RoleAssignment.objects.create(
        organization=state.org, account=retired, role=state.role, group=state.ops
    )

    assert broken_line("acme") == (
        f"acme: BROKEN: roles: account {retired.pk}: holds role {state.role.pk} through "
        f"group {state.ops.pk}, but is no SCIM user's account here"
    )


def test_a_permission_the_roles_imply_but_missing_is_named(state: State) -> None:
    remove_perm("axon_scim.configure_sso", account(state.alice), state.org)

    assert broken_line("acme") == (
        f"acme: BROKEN: permissions: account {state.alice.account_id}: its roles imply "
        "axon_scim.configure_sso, which it does not hold"
    )


def test_a_managed_permission_no_role_implies_is_named(state: State) -> None:
    RoleAssignment.objects.filter(account=account(state.carol)).delete()  # the grant by hand

    assert broken_line("acme") == (
        f"acme: BROKEN: permissions: account {state.carol.account_id}: holds "
        "axon_scim.configure_sso through roles, but no role it holds implies"
    )


def test_a_permission_granted_some_other_way_is_not_the_roles_to_check(state: State) -> None:
    assign_perm("axon_scim.configure_sso", account(state.bob), state.org)

    assert run("acme").startswith("acme: ok")
    assert not ManagedPermission.objects.filter(account=account(state.bob)).exists()


def test_a_membership_in_another_organizations_group_is_named(state: State) -> None:
    leak = ScimMembership.objects.create(
        organization=state.org, group=state.foreign_group, user=state.carol
    )

    assert run_failing().splitlines() == [
        f"acme: BROKEN: tenancy: membership {leak.pk}: its group belongs to another organization",
        f"globex: BROKEN: tenancy: membership {leak.pk}: it belongs to another organization",
    ]


def test_a_member_of_another_organization_is_named(state: State, other_org: Organization) -> None:
    eve = ScimUser.objects.for_tenant(other_org).get()
    leak = ScimMembership.objects.create(organization=state.org, group=state.misc, user=eve)

    assert broken_line("acme") == (
        f"acme: BROKEN: tenancy: membership {leak.pk}: its member user belongs to another "
        "organization"
    )


def test_a_mapping_to_another_organizations_role_is_named(
    state: State, other_org: Organization
) -> None:
    foreign_role = make_role(other_org, "Theirs")
    ScimGroup.objects.filter(pk=state.misc.pk).update(role=foreign_role)

    assert broken_line("acme") == (
        f"acme: BROKEN: tenancy: Group {state.misc.pk}: the role it maps to belongs to "
        "another organization"
    )


@pytest.mark.parametrize("resource", ["User", "Group"])
def test_a_version_behind_the_audited_changes_is_named(state: State, resource: str) -> None:
    row: Any = state.bob if resource == "User" else state.ops  # both changed through SCIM
    type(row).objects.filter(pk=row.pk).update(version=1)
    actions = "user.updated" if resource == "User" else "group.updated/group.replaced"

    assert broken_line("acme").startswith(
        f"acme: BROKEN: versions: {resource} {row.pk}: version 1 is behind the "
    )
    assert f" {actions} events recorded for it" in broken_line("acme")


def test_a_version_below_one_is_named(org: Organization, scim: ScimClient) -> None:
    user_id = provision(scim, "zero@acme.test")
    ScimUser.objects.filter(pk=user_id).update(version=0)

    assert broken_line() == (
        f"acme: BROKEN: versions: User {user_id}: version 0 is behind the 0 user.updated "
        "events recorded for it (at least 1 expected)"
    )


def test_a_slug_checks_only_that_organization(state: State) -> None:
    ScimUser.objects.filter(pk=state.alice.pk).update(active=False)

    assert run("globex").startswith("globex: ok: 1 users, 1 groups")


def test_an_unknown_slug_is_an_error(org: Organization) -> None:
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        run("nope")
