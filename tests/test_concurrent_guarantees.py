"""Deprovisioning and role sync under parallel requests on PostgreSQL (issue 7, findings 1 and 2).

Each test repeats one race for several rounds: two writers, each on its own
thread and database connection, released together by a barrier, one of them
(or both) a real HTTP request to a live server, the other a SCIM request or a
portal service call. After every round the invariants of DESIGN.md's
"Writes" section must hold (``tests.invariants``): SCIM ``active`` agrees
with the account, deleted users' accounts are disabled, role assignments are
exactly the mapped groups' active members, permissions follow the roles, and
the audit log tells the same story. The lock order that makes this so is in
``axon_scim.services._common``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from axon_scim import services
from axon_scim.audit import Actor
from axon_scim.models import AuditEvent, Role, RoleAssignment, ScimUser
from axon_scim.protocol import constants as c

from .conftest import ScimClient, patch_body, requires_postgresql
from .factories import make_role
from .invariants import assert_invariants
from .live import REQUEST_TIMEOUT, LiveScim, live_scim_fixture  # noqa: F401

pytestmark = [pytest.mark.live]

ROUNDS = 12
ADMIN = Actor(label="portal admin")

Call = Callable[[httpx.Client], Any]


def race(server: LiveScim, *calls: Call) -> list[Any]:
    """Run each call on its own thread, HTTP client and database connection, all at once."""
    barrier = threading.Barrier(len(calls), timeout=REQUEST_TIMEOUT)

    def run(call: Call) -> Any:
        try:
            with server.http() as http:
                assert http.get("ServiceProviderConfig").status_code == 200
                connections["default"].ensure_connection()
                barrier.wait()
                return call(http)
        finally:
            connections.close_all()  # this thread's connection, for service calls

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=4 * REQUEST_TIMEOUT) for future in futures]


@dataclass
class Scene:
    """A live server, and an in-process client for the quick sequential steps between races."""

    server: LiveScim
    scim: ScimClient

    def send(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.scim.request(method, path, body)
        assert response.status_code == expect, response.content
        return response.json() if response.content else None

    def user(self, name: str) -> str:
        body = {"schemas": [c.USER_SCHEMA], "userName": name}
        return str(self.send("POST", "Users", body, expect=201)["id"])

    def group(self, name: str, *members: str) -> str:
        body = {
            "schemas": [c.GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": member} for member in members],
        }
        return str(self.send("POST", "Groups", body, expect=201)["id"])

    def role(self, name: str, *codenames: str) -> Role:
        return make_role(self.server.organization, name, *codenames)

    def map(self, group_id: str, role: Role | None) -> None:
        organization = self.server.organization
        services.set_group_role(organization, ADMIN, group_id, role.pk if role else None)

    def check(self) -> None:
        assert_invariants(self.server.organization)


@pytest.fixture
def scene(live_scim: LiveScim) -> Scene:
    return Scene(live_scim, ScimClient(live_scim.token))


def set_active(user_id: str, active: bool) -> Call:
    body = patch_body({"op": "replace", "path": "active", "value": active})
    return lambda http: http.patch(f"Users/{user_id}", json=body)


def delete(user_id: str) -> Call:
    return lambda http: http.delete(f"Users/{user_id}")


def member_op(group_id: str, op: str, user_id: str) -> Call:
    body = patch_body({"op": op, "path": "members", "value": [{"value": user_id}]})
    return lambda http: http.patch(f"Groups/{group_id}", json=body)


def mapping(organization: Any, group_id: str, role: Role | None) -> Call:
    return lambda _http: services.set_group_role(
        organization, ADMIN, group_id, role.pk if role else None
    )


def account_of(user_id: str) -> Any:
    return get_user_model().objects.get(scim_user__pk=user_id)


@requires_postgresql
def test_opposite_activation_patches_leave_account_and_roles_in_step(scene: Scene) -> None:
    """PATCH active:false racing PATCH active:true: the account follows whichever came last."""
    user = scene.user("flip@x.com")
    group = scene.group("Flippers", user)
    scene.map(group, scene.role("Flipper", "view_organization"))
    for _ in range(ROUNDS):
        scene.send("PATCH", f"Users/{user}", set_active_body(True))
        responses = race(scene.server, set_active(user, False), set_active(user, True))
        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
        scene.check()


def set_active_body(active: bool) -> dict[str, Any]:
    return patch_body({"op": "replace", "path": "active", "value": active})


@requires_postgresql
def test_delete_racing_reactivation_leaves_the_account_disabled(scene: Scene) -> None:
    """DELETE racing PATCH active:true: after the 204 the account is disabled and holds nothing."""
    group = scene.group("Leavers")
    scene.map(group, scene.role("Leaver", "view_organization"))
    for round_number in range(ROUNDS):
        user = scene.user(f"leaver{round_number}@x.com")
        scene.send("PATCH", f"Groups/{group}", patch_body(add_member(user)))
        scene.send("PATCH", f"Users/{user}", set_active_body(False))
        account = account_of(user)
        deleted, patched = race(scene.server, delete(user), set_active(user, True))
        assert deleted.status_code == 204, deleted.text
        assert patched.status_code in (200, 404), patched.text
        account.refresh_from_db()
        assert not account.is_active
        assert not RoleAssignment.objects.filter(account=account).exists()
        scene.check()


def add_member(user_id: str) -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": [{"value": user_id}]}


@requires_postgresql
def test_deactivation_racing_a_join_of_a_mapped_group_grants_nothing(scene: Scene) -> None:
    """PATCH active:false racing the user's addition to a mapped group."""
    user = scene.user("joiner@x.com")
    group = scene.group("Joiners")
    scene.map(group, scene.role("Joiner", "view_organization"))
    for _ in range(ROUNDS):
        scene.send("PATCH", f"Groups/{group}", patch_body({**add_member(user), "op": "remove"}))
        scene.send("PATCH", f"Users/{user}", set_active_body(True))
        responses = race(scene.server, set_active(user, False), member_op(group, "add", user))
        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
        assert not RoleAssignment.objects.filter(account=account_of(user)).exists()
        scene.check()


@requires_postgresql
def test_reactivation_racing_a_new_mapping_gets_the_role(scene: Scene) -> None:
    """PATCH active:true racing the mapping of one of the user's groups."""
    user = scene.user("returner@x.com")
    group = scene.group("Returners", user)
    role = scene.role("Returner", "view_organization")
    organization = scene.server.organization
    for _ in range(ROUNDS):
        scene.map(group, None)
        scene.send("PATCH", f"Users/{user}", set_active_body(False))
        patched, _mapped = race(
            scene.server, set_active(user, True), mapping(organization, group, role)
        )
        assert patched.status_code == 200, patched.text
        assert RoleAssignment.objects.filter(account=account_of(user), role=role).exists()
        scene.check()


@dataclass
class TwoGroups:
    """Two groups mapped to one role, sharing ten members."""

    first: str
    second: str
    role: Role


def two_groups(scene: Scene) -> TwoGroups:
    members = [scene.user(f"shared{n}@x.com") for n in range(10)]
    pair = TwoGroups(scene.group("GA", *members), scene.group("GB", *members), scene.role("R"))
    pair.role.permissions.set(
        pair.role.permissions.model.objects.filter(
            content_type__app_label="axon_scim",
            codename__in=("view_organization", "change_organization"),
        )
    )
    return pair


@requires_postgresql
def test_clearing_two_mappings_of_one_role_at_once_revokes_it(scene: Scene) -> None:
    """Both groups' mappings cleared in parallel: nobody keeps the role or its permissions."""
    pair = two_groups(scene)
    organization = scene.server.organization
    for _ in range(ROUNDS):
        scene.map(pair.first, pair.role)
        scene.map(pair.second, pair.role)
        revoked = AuditEvent.objects.filter(action="role.revoked").count()
        race(
            scene.server,
            mapping(organization, pair.first, None),
            mapping(organization, pair.second, None),
        )
        assert not RoleAssignment.objects.exists()
        assert AuditEvent.objects.filter(action="role.revoked").count() == revoked + 10
        scene.check()


@requires_postgresql
def test_clearing_one_mapping_while_the_other_moves_to_another_role(scene: Scene) -> None:
    """GA cleared while GB moves from R to R2: everyone holds R2, with its permissions only."""
    pair = two_groups(scene)
    other = scene.role("R2", "view_organization")
    organization = scene.server.organization
    for _ in range(ROUNDS):
        scene.map(pair.first, pair.role)
        scene.map(pair.second, pair.role)
        race(
            scene.server,
            mapping(organization, pair.first, None),
            mapping(organization, pair.second, other),
        )
        held = set(RoleAssignment.objects.values_list("role_id", flat=True))
        assert held == {other.pk}
        scene.check()
        scene.map(pair.second, None)


@requires_postgresql
def test_role_edit_racing_a_join_gives_the_new_permissions(scene: Scene) -> None:
    """A role's permissions change while a member joins a group mapped to it."""
    user = scene.user("editor@x.com")
    group = scene.group("Editors")
    role = scene.role("Editor", "view_organization")
    scene.map(group, role)
    organization = scene.server.organization
    permission_sets = (("view_organization",), ("change_organization", "view_organization"))
    for round_number in range(ROUNDS):
        scene.send("PATCH", f"Groups/{group}", patch_body({**add_member(user), "op": "remove"}))
        codenames = permission_sets[round_number % 2]
        permissions = list(
            role.permissions.model.objects.filter(
                content_type__app_label="axon_scim", codename__in=codenames
            )
        )

        def edit(_http: httpx.Client, permissions: list[Any] = permissions) -> Role:
            return services.save_role(
                organization, ADMIN, role, name="Editor", permissions=permissions
            )

        race(scene.server, edit, member_op(group, "add", user))
        assert ScimUser.objects.get(pk=user).account is not None
        scene.check()
