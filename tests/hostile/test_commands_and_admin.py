"""The commands, the admin, the system checks and the migrations under the hostile host."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from guardian.shortcuts import get_perms

from axon_scim import services
from axon_scim.checks import check_adapter_fields
from axon_scim.models import AuditEvent, Organization, RoleAssignment, ScimToken
from axon_scim.protocol import constants as c

from ..conftest import ScimClient
from ..factories import make_role

pytestmark = pytest.mark.django_db

ADMIN = "/admin/axon_scim"
SECRET_MESSAGE = re.compile(r"it will not be shown again: (\S+)$")
MODELS = ["organization", "scimtoken", "scimgroup", "role", "roleassignment", "auditevent"]


def run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def provisioned(org: Organization) -> ScimClient:
    """A token made by the command, a user pushed into a group mapped to a role."""
    secret = run("create_scim_token", "acme", "--label", "Entra").splitlines()[-1]
    scim = ScimClient(secret)
    user = scim.post("Users", {"schemas": [c.USER_SCHEMA], "userName": "ann@acme.example"})
    assert user.status_code == 201, user.content
    group = scim.post(
        "Groups",
        {
            "schemas": [c.GROUP_SCHEMA],
            "displayName": "Prüfung",
            "members": [{"value": user.json()["id"]}],
        },
    )
    assert group.status_code == 201, group.content
    role = make_role(org, "Prüfer", "view_organization")
    services.set_group_role(org, services.Actor(label="tests"), group.json()["id"], role.pk)
    return scim


def test_create_scim_token_makes_a_working_token(provisioned):
    assert provisioned.get("Users").json()["totalResults"] == 1


def test_verify_scim_audit_finds_the_chain_intact(provisioned):
    assert re.fullmatch(r"acme: ok: \d+ events\n", run("verify_scim_audit"))


def test_scim_access_review_names_the_hosts_account(provisioned):
    review = run("scim_access_review", "acme", "--csv")

    assert "ann+acme@acme.example" in review
    assert "Prüfer" in review


@pytest.mark.parametrize("model", MODELS)
def test_the_admin_pages_render(admin_client: Client, provisioned, model: str):
    assert admin_client.get(f"{ADMIN}/{model}/").status_code == 200


def test_the_admin_issues_a_token_and_shows_its_throttling(
    admin_client: Client, admin_user: Any, org: Organization
):
    response = admin_client.post(
        f"{ADMIN}/scimtoken/add/",
        {"organization": org.pk, "label": "Okta", "expires_0": "", "expires_1": ""},
        follow=True,
    )

    shown = [str(message) for message in response.context["messages"]]
    [secret] = [m.group(1) for m in map(SECRET_MESSAGE.search, shown) if m is not None]
    token = ScimToken.objects.get(label="Okta")
    assert token.created_by == admin_user
    assert ScimClient(secret).get("Users").status_code == 200
    page = admin_client.get(f"{ADMIN}/scimtoken/{token.pk}/change/").content.decode()
    assert "never throttled" in page


def test_the_admin_grants_a_role_by_hand_to_a_uuid_account(
    admin_client: Client, admin_user: Any, org: Organization
):
    account = get_user_model().objects.create_user("olaf@acme.example")
    role = make_role(org, "Prüfer", "view_organization")

    response = admin_client.post(
        f"{ADMIN}/roleassignment/add/",
        {"organization": org.pk, "account": str(account.pk), "role": role.pk},
    )

    assert response.status_code == 302
    assert RoleAssignment.objects.get(account=account).role == role
    assert get_perms(account, org) == ["view_organization"]
    event = AuditEvent.objects.for_tenant(org).get(action="role.assigned_by_hand")
    assert (event.actor_user, event.after["account"]) == (admin_user, "olaf@acme.example")


def test_the_system_checks_pass():
    call_command("check", stdout=StringIO())


def test_the_default_adapter_is_flagged_for_this_user_model(settings):
    assert check_adapter_fields() == []

    settings.AXON_SCIM = {}

    [warning] = check_adapter_fields()
    assert warning.id == "axon_scim.W001"
    assert warning.msg == (
        "The SCIM adapter fills first_name, last_name, which hostile_accounts.Account lacks."
    )


def test_the_hosts_default_auto_field_changes_no_migration():
    """The host numbers its models with AutoField; axon_scim's own choice holds."""
    call_command("makemigrations", "axon_scim", "--check", "--dry-run", stdout=StringIO())
