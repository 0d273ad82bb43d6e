"""The create_scim_role command: roles a host declares, audited and idempotent."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from guardian.shortcuts import assign_perm, get_user_perms

from axon_scim.audit import Actor
from axon_scim.models import AuditEvent, Organization, Role
from axon_scim.services import set_group_role

from .conftest import World
from .factories import AccountFactory
from .guide import guide_block

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    """Run create_scim_role and return its stdout."""
    out = StringIO()
    call_command("create_scim_role", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def permissions_of(organization: Organization, name: str) -> set[str]:
    role = Role.objects.for_tenant(organization).get(name=name)
    return set(role.permissions.values_list("codename", flat=True))


def role_events(organization: Organization) -> list[tuple[str, str]]:
    events = AuditEvent.objects.for_tenant(organization).filter(action__startswith="role.")
    return list(events.order_by("id").values_list("action", "actor_label"))


def test_creates_the_role_in_the_named_organization_audited(org, other_org) -> None:
    out = run(
        "Billing",
        "--perm",
        "axon_scim.view_organization",
        "axon_scim.change_organization",
        "--org",
        "acme",
        "--description",
        "Invoices and plans",
    )

    assert out == "acme: created role 'Billing'\n"
    assert permissions_of(org, "Billing") == {"view_organization", "change_organization"}
    assert Role.objects.for_tenant(org).get(name="Billing").description == "Invoices and plans"
    assert not Role.objects.for_tenant(other_org).exists()
    assert role_events(org) == [("role.created", "manage.py create_scim_role")]


def test_without_org_the_role_is_declared_in_every_organization(org, other_org) -> None:
    out = run("Viewer", "--perm", "axon_scim.view_organization")

    assert out.splitlines() == ["acme: created role 'Viewer'", "globex: created role 'Viewer'"]
    assert permissions_of(org, "Viewer") == permissions_of(other_org, "Viewer")


def test_running_again_changes_nothing_and_records_nothing(org) -> None:
    run("Viewer", "--perm", "axon_scim.view_organization", "--description", "Read")
    events = AuditEvent.objects.count()

    out = run("Viewer", "--perm", "axon_scim.view_organization")

    assert out == "acme: unchanged role 'Viewer'\n"
    assert AuditEvent.objects.count() == events
    assert Role.objects.for_tenant(org).get().description == "Read"  # kept when not given


def test_running_again_with_other_permissions_updates_the_role_and_its_holders(
    world: World,
) -> None:
    set_group_role(world.org, Actor(label="tests"), world.group.pk, world.role.pk)
    account = world.members[0].account
    assert set(get_user_perms(account, world.org)) == {"configure_sso"}

    out = run("Operator", "--perm", "axon_scim.view_organization", "--org", "acme")

    assert out == "acme: updated role 'Operator'\n"
    assert permissions_of(world.org, "Operator") == {"view_organization"}
    assert set(get_user_perms(account, world.org)) == {"view_organization"}
    assert role_events(world.org)[-1] == ("role.updated", "manage.py create_scim_role")
    assert permissions_of(world.other_org, "Their operator") == {"configure_sso"}


@pytest.mark.parametrize(
    "perm", ["axon_scim.no_such_permission", "auth.add_user", "view_organization", "x.y.z"]
)
def test_a_permission_that_is_not_the_organizations_is_refused(org, perm: str) -> None:
    with pytest.raises(CommandError, match=r"Not a permission of axon_scim\.Organization"):
        run("Broken", "--perm", "axon_scim.view_organization", perm)

    assert not Role.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_unknown_organization_is_refused_before_anything_is_created(org) -> None:
    with pytest.raises(CommandError, match="'nowhere'"):
        run("Viewer", "--perm", "axon_scim.view_organization", "--org", "acme", "--org", "nowhere")

    assert not Role.objects.exists()


def test_with_no_organization_at_all_it_says_how_to_create_one(db: None) -> None:
    with pytest.raises(CommandError, match="create_scim_token SLUG --create-org"):
        run("Viewer", "--perm", "axon_scim.view_organization")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_blank_or_too_long_name_is_refused(org, name: str) -> None:
    with pytest.raises(CommandError, match="NAME"):
        run(name, "--perm", "axon_scim.view_organization")


def test_the_portal_role_list_shows_the_declared_role(org) -> None:
    run("Viewer", "--perm", "axon_scim.view_organization", "--description", "Read only")
    admin = AccountFactory()
    assign_perm("configure_sso", admin, org)
    client = Client()
    client.force_login(admin)

    response = client.get("/api/v1/scim/roles")

    assert response.status_code == 200, response.content
    (role,) = response.json()["results"]
    assert {k: role[k] for k in ("name", "description", "permissions")} == {
        "name": "Viewer",
        "description": "Read only",
        "permissions": ["view_organization"],
    }


def test_the_guides_roles_migration_declares_permissions_and_roles(org, other_org) -> None:
    namespace: dict[str, Any] = {}
    exec(guide_block("roles migration"), namespace)

    for _ in range(2):  # a migration that runs again (on a copy of the data) changes nothing
        namespace["declare_roles"](django_apps, None)

    for organization in (org, other_org):
        assert permissions_of(organization, "Billing") == {"view_invoices", "manage_billing"}
    graph = MigrationLoader(connection).graph
    assert all(node in graph.nodes for node in namespace["Migration"].dependencies)
    # The permissions it declares are the organization's, so the command takes them.
    out = run("Billing", "--perm", "axon_scim.view_invoices", "--org", "acme")
    assert out == "acme: updated role 'Billing'\n"
