"""The management commands: create_scim_token and seed_demo."""

from __future__ import annotations

import shlex
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.timezone import now
from guardian.shortcuts import get_user_perms

from axon_scim.models import AuditEvent, Organization, Role, ScimGroup, ScimToken

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> tuple[str, str]:
    """Run a management command and return its stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def token_of(secret: str) -> ScimToken:
    """The stored token this secret authenticates as, found by hash as the server does."""
    return ScimToken.objects.get(secret_hash=ScimToken.hash_secret(secret))


# create_scim_token


def test_create_scim_token_prints_the_secret_alone_on_the_last_line(org: Organization) -> None:
    out, _err = run("create_scim_token", "acme", "--label", "okta")

    lines = out.splitlines()
    secret = lines[-1]
    assert secret == secret.strip() and " " not in secret
    assert secret.startswith("axscim_")
    assert secret not in "\n".join(lines[:-1])
    token = token_of(secret)
    assert token.organization == org
    assert token.label == "okta"
    assert token.expires is None
    assert token.is_usable()


def test_create_scim_token_records_an_audit_event_with_the_command_as_actor(
    org: Organization,
) -> None:
    out, _err = run("create_scim_token", "acme")

    token = token_of(out.splitlines()[-1])
    event = AuditEvent.objects.for_tenant(org).get(action="token.created")
    assert event.resource_id == str(token.pk)
    assert event.actor_label == "manage.py create_scim_token"
    assert out.splitlines()[-1] not in str(event.after)


def test_create_scim_token_unknown_org_fails_and_creates_nothing(db: None) -> None:
    with pytest.raises(CommandError, match="--create-org"):
        run("create_scim_token", "nowhere")

    assert not Organization.objects.exists()
    assert not ScimToken.objects.exists()


def test_create_scim_token_create_org(db: None) -> None:
    out, _err = run("create_scim_token", "new-co", "--create-org")

    org = Organization.objects.get(slug="new-co")
    assert org.name == "New Co"
    assert token_of(out.splitlines()[-1]).organization == org


def test_create_scim_token_create_org_reuses_an_existing_one(org: Organization) -> None:
    run("create_scim_token", "acme", "--create-org")

    assert Organization.objects.count() == 1
    assert ScimToken.objects.for_tenant(org).count() == 1


def test_create_scim_token_expires_days(org: Organization) -> None:
    out, _err = run("create_scim_token", "acme", "--expires-days", "30")

    expires = token_of(out.splitlines()[-1]).expires
    assert expires is not None
    assert abs(expires - (now() + timedelta(days=30))) < timedelta(minutes=1)


@pytest.mark.parametrize("days", ["0", "-3"])
def test_create_scim_token_rejects_non_positive_expiry(org: Organization, days: str) -> None:
    with pytest.raises(CommandError, match="positive"):
        run("create_scim_token", "acme", "--expires-days", days)

    assert not ScimToken.objects.exists()


def test_create_scim_token_tokens_belong_to_their_own_organization(
    org: Organization, other_org: Organization
) -> None:
    out, _err = run("create_scim_token", "globex")

    assert token_of(out.splitlines()[-1]).organization == other_org
    assert not ScimToken.objects.for_tenant(org).exists()


# seed_demo


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


def test_seed_demo_prints_exactly_four_shell_lines(db: None) -> None:
    out, err = run("seed_demo")

    values = parse_seed_output(out)
    assert values["ORG_SLUG"] == "demo"
    assert values["PORTAL_USERNAME"] == "admin"
    assert len(values["PORTAL_PASSWORD"]) >= 16
    assert values["SCIM_TOKEN"].startswith("axscim_")
    assert "demo" in err  # the chatter goes to stderr, not into the sourced lines


def test_seed_demo_creates_a_working_login_token_and_permission(db: None) -> None:
    values = parse_seed_output(run("seed_demo")[0])

    org = Organization.objects.get(slug="demo")
    assert org.name == "Demo Organization"
    user = authenticate(username="admin", password=values["PORTAL_PASSWORD"])
    assert user is not None
    assert user.is_staff and user.is_superuser and user.is_active
    # Directly assigned (not merely implied by superuser status).
    assert set(get_user_perms(user, org)) == {"configure_sso"}
    assert user.has_perm("axon_scim.configure_sso", org)
    token = token_of(values["SCIM_TOKEN"])
    assert token.organization == org
    assert token.is_usable()


def test_seed_demo_is_idempotent_and_rotates_the_secrets(db: None) -> None:
    first = parse_seed_output(run("seed_demo")[0])
    second = parse_seed_output(run("seed_demo")[0])

    assert Organization.objects.count() == 1
    assert get_user_model().objects.filter(username="admin").count() == 1
    org = Organization.objects.get(slug="demo")
    assert ScimToken.objects.for_tenant(org).count() == 2
    assert first["SCIM_TOKEN"] != second["SCIM_TOKEN"]
    assert token_of(second["SCIM_TOKEN"]).organization == org
    assert first["PORTAL_PASSWORD"] != second["PORTAL_PASSWORD"]
    assert authenticate(username="admin", password=second["PORTAL_PASSWORD"]) is not None
    assert authenticate(username="admin", password=first["PORTAL_PASSWORD"]) is None
    user = get_user_model().objects.get(username="admin")
    assert list(get_user_perms(user, org)) == ["configure_sso"]


def test_seed_demo_other_org(org: Organization) -> None:
    values = parse_seed_output(run("seed_demo", "--org", "acme")[0])

    assert values["ORG_SLUG"] == "acme"
    assert Organization.objects.count() == 1
    assert Organization.objects.get(slug="acme").name == "Acme"  # an existing org is kept as is
    assert token_of(values["SCIM_TOKEN"]).organization == org


def test_seed_demo_rejects_an_invalid_slug(db: None) -> None:
    with pytest.raises(CommandError, match="slug"):
        run("seed_demo", "--org", "not a slug; rm -rf /")

    assert not Organization.objects.exists()


def test_create_scim_token_create_org_rejects_an_invalid_slug(db: None) -> None:
    with pytest.raises(CommandError, match="slug"):
        run("create_scim_token", "bad slug", "--create-org")

    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_seed_demo_creates_two_roles_and_two_groups_once():
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
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
