"""The management command create_scim_token."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.timezone import now

from axon_scim.models import AuditEvent, Organization, ScimToken

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


def test_create_scim_token_create_org_rejects_an_invalid_slug(db: None) -> None:
    with pytest.raises(CommandError, match="slug"):
        run("create_scim_token", "bad slug", "--create-org")

    assert not Organization.objects.exists()
