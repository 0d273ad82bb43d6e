"""The demo's seed_demo command: its own login, never anyone else's, and safe to run again."""

from __future__ import annotations

import json
import shlex
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from guardian.shortcuts import get_user_perms

import axon_scim
from axon_scim.models import (
    AuditEvent,
    CustomAttribute,
    Organization,
    Role,
    ScimGroup,
    ScimToken,
)
from portal_demo.models import DemoLogin

pytestmark = pytest.mark.django_db

DEMO_LOGIN = "demo-admin"


def run(*args: str) -> tuple[str, str]:
    """Run seed_demo and return its stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def token_of(secret: str) -> ScimToken:
    """The stored token this secret authenticates as, found by hash as the server does."""
    return ScimToken.objects.get(secret_hash=ScimToken.hash_secret(secret))


def parse_seed_output(out: str) -> dict[str, str]:
    """Parse seed_demo's stdout the way a shell would, after checking its exact shape."""
    lines = out.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "ORG_SLUG",
        "SCIM_TOKEN",
        "PORTAL_USERNAME",
        "PORTAL_PASSWORD",
    ]
    values = {}
    for line in lines:
        (word,) = shlex.split(line)  # one shell word per line: KEY=value, quoted if needed
        key, value = word.split("=", 1)
        values[key] = value
    return values


def account_state(username: str) -> tuple[Any, ...]:
    """Everything seed_demo could change on an account."""
    user = get_user_model().objects.get(username=username)
    return (user.password, user.is_staff, user.is_superuser, user.is_active, user.last_login)


def test_seed_demo_prints_exactly_four_shell_lines(db: None) -> None:
    out, err = run()

    values = parse_seed_output(out)
    assert values["ORG_SLUG"] == "demo"
    assert values["PORTAL_USERNAME"] == DEMO_LOGIN
    assert len(values["PORTAL_PASSWORD"]) >= 16
    assert values["SCIM_TOKEN"].startswith("axscim_")
    assert "demo" in err  # the chatter goes to stderr, not into the sourced lines


def test_seed_demo_creates_a_working_login_token_and_permission(db: None) -> None:
    values = parse_seed_output(run()[0])

    org = Organization.objects.get(slug="demo")
    assert org.name == "Demo Organization"
    user = authenticate(username=DEMO_LOGIN, password=values["PORTAL_PASSWORD"])
    assert user is not None
    assert user.is_staff and user.is_superuser and user.is_active
    assert DemoLogin.objects.get().account == user  # recorded as the demo's own
    # Directly assigned (not merely implied by superuser status).
    assert set(get_user_perms(user, org)) == {"configure_sso"}
    assert user.has_perm("axon_scim.configure_sso", org)
    token = token_of(values["SCIM_TOKEN"])
    assert token.organization == org
    assert token.is_usable()


def test_seed_demo_is_idempotent_for_its_own_login_and_rotates_the_secrets(db: None) -> None:
    first = parse_seed_output(run()[0])
    second = parse_seed_output(run()[0])

    assert Organization.objects.count() == 1
    assert get_user_model().objects.filter(username=DEMO_LOGIN).count() == 1
    assert DemoLogin.objects.count() == 1
    org = Organization.objects.get(slug="demo")
    assert ScimToken.objects.for_tenant(org).count() == 2
    assert first["SCIM_TOKEN"] != second["SCIM_TOKEN"]
    assert token_of(second["SCIM_TOKEN"]).organization == org
    assert first["PORTAL_PASSWORD"] != second["PORTAL_PASSWORD"]
    assert authenticate(username=DEMO_LOGIN, password=second["PORTAL_PASSWORD"]) is not None
    assert authenticate(username=DEMO_LOGIN, password=first["PORTAL_PASSWORD"]) is None
    user = get_user_model().objects.get(username=DEMO_LOGIN)
    assert list(get_user_perms(user, org)) == ["configure_sso"]


def test_seed_demo_leaves_an_existing_admin_account_untouched(db: None) -> None:
    get_user_model().objects.create_user(username="admin", password="the host's own secret")
    before = account_state("admin")

    values = parse_seed_output(run()[0])

    assert values["PORTAL_USERNAME"] == DEMO_LOGIN
    assert account_state("admin") == before
    admin = get_user_model().objects.get(username="admin")
    assert authenticate(username="admin", password="the host's own secret") == admin
    assert not admin.is_superuser and not admin.is_staff
    assert get_user_perms(admin, Organization.objects.get(slug="demo")).count() == 0
    assert not DemoLogin.objects.filter(account=admin).exists()


def test_seed_demo_refuses_a_demo_admin_it_did_not_create_and_changes_nothing(db: None) -> None:
    get_user_model().objects.create_user(username=DEMO_LOGIN, password="someone else's")
    before = account_state(DEMO_LOGIN)

    with pytest.raises(CommandError, match="not created by seed_demo"):
        run()

    assert account_state(DEMO_LOGIN) == before
    assert not Organization.objects.exists()
    assert not ScimToken.objects.exists()
    assert not DemoLogin.objects.exists()
    assert not AuditEvent.objects.exists()


def test_seed_demo_username_gives_the_demo_a_login_of_its_own(db: None) -> None:
    get_user_model().objects.create_user(username=DEMO_LOGIN, password="someone else's")
    before = account_state(DEMO_LOGIN)

    values = parse_seed_output(run("--username", "demo-admin-2")[0])

    assert values["PORTAL_USERNAME"] == "demo-admin-2"
    assert authenticate(username="demo-admin-2", password=values["PORTAL_PASSWORD"]) is not None
    assert account_state(DEMO_LOGIN) == before


def test_seed_demo_other_org_hands_the_same_login_both_organizations(db: None) -> None:
    run()
    values = parse_seed_output(run("--org", "other")[0])

    assert values["ORG_SLUG"] == "other"
    assert values["PORTAL_USERNAME"] == DEMO_LOGIN
    user = get_user_model().objects.get(username=DEMO_LOGIN)
    for slug in ("demo", "other"):
        assert list(get_user_perms(user, Organization.objects.get(slug=slug))) == ["configure_sso"]
    assert token_of(values["SCIM_TOKEN"]).organization.slug == "other"


def test_seed_demo_other_org_keeps_an_existing_organization(org: Organization) -> None:
    values = parse_seed_output(run("--org", "acme")[0])

    assert values["ORG_SLUG"] == "acme"
    assert Organization.objects.count() == 1
    assert Organization.objects.get(slug="acme").name == "Acme"  # an existing org is kept as is
    assert token_of(values["SCIM_TOKEN"]).organization == org


def test_seed_demo_rejects_an_invalid_slug(db: None) -> None:
    with pytest.raises(CommandError, match="slug"):
        run("--org", "not a slug; rm -rf /")

    assert not Organization.objects.exists()


def test_seed_demo_creates_two_roles_and_two_groups_once(db: None) -> None:
    run()
    run()

    org = Organization.objects.get(slug="demo")
    roles = {
        role.name: {p.codename for p in role.permissions.all()}
        for role in Role.objects.for_tenant(org)
    }
    assert roles == {
        "Viewer": {"view_organization"},
        "Editor": {"view_organization", "change_organization"},
    }
    assert sorted(ScimGroup.objects.for_tenant(org).values_list("display_name", flat=True)) == [
        "Engineering",
        "Support",
    ]
    # Through the services: audited once each, with the command as the actor.
    created = AuditEvent.objects.for_tenant(org).filter(action="role.created")
    assert sorted(created.values_list("after__name", flat=True)) == ["Editor", "Viewer"]
    assert set(created.values_list("actor_label", flat=True)) == {"manage.py seed_demo"}


def test_seed_demo_lives_in_the_demo_not_in_the_axon_scim_package() -> None:
    from django.core.management import get_commands

    assert get_commands()["seed_demo"] == "portal_demo"
    assert not list(Path(axon_scim.__file__).parent.rglob("seed_demo.py"))


def test_the_demo_admin_of_two_organizations_works_by_selecting_one(db: None) -> None:
    run()
    values = parse_seed_output(run("--org", "other")[0])
    client = Client()
    assert client.login(username=DEMO_LOGIN, password=values["PORTAL_PASSWORD"])

    assert client.get("/api/v1/scim/roles").status_code == 403  # none selected yet
    listed = client.get("/api/v1/scim/organizations").json()["results"]
    assert [(o["slug"], o["selected"]) for o in listed] == [("demo", False), ("other", False)]
    selected = client.put(
        "/api/v1/scim/session-organization",
        data=json.dumps({"organization": "other"}),
        content_type="application/json",
    )
    assert selected.status_code == 200, selected.content
    roles = client.get("/api/v1/scim/roles")
    assert roles.status_code == 200
    assert {r["name"] for r in roles.json()["results"]} == {"Viewer", "Editor"}
    other = Organization.objects.get(slug="other")
    assert {r["id"] for r in roles.json()["results"]} == set(
        Role.objects.for_tenant(other).values_list("pk", flat=True)
    )


def test_seed_demo_declares_a_user_and_a_group_custom_attribute_once(db: None) -> None:
    run()
    run()
    declared = CustomAttribute.objects.filter(organization__slug="demo")
    assert sorted(declared.values_list("resource_type", "name")) == [
        ("Group", "costCenter"),
        ("User", "region"),
    ]
