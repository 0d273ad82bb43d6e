"""schemathesis against the live portal API: no 5xx, and every response as described.

The committed ``docs/portal-api.openapi.yaml`` (which ``test_portal_openapi``
keeps equal to what the code generates) drives the requests; a signed-in
admin's session cookie and CSRF token go with each of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.test import Client
from guardian.shortcuts import assign_perm
from hypothesis import HealthCheck, settings

from axon_scim.adapter import SESSION_ORGANIZATION_KEY
from axon_scim.models import Organization
from axon_scim.services import issue_token

from .factories import (
    AccountFactory,
    ScimGroupFactory,
    ScimMembershipFactory,
    ScimUserFactory,
    make_role,
)

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "portal-api.openapi.yaml"
CSRF = "k" * 32  # any 32 alphanumerics: Django compares the header with the cookie

schema = schemathesis.openapi.from_path(DOCUMENT)


# The session the auth provider hands schemathesis: set by the fixture of each test.
SESSION: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class PortalSession:
    """The signed-in admin's session cookie, and the CSRF token for PUT, POST and DELETE.

    Given to schemathesis as the operations' authentication, so that its
    ``ignored_auth`` check also sends each request without it (expecting 403).
    """

    def get(self, case: Any, context: Any) -> dict[str, str] | None:
        return dict(SESSION) or None  # None while pytest collects

    def set(self, case: Any, data: dict[str, str], context: Any) -> None:
        case.cookies = {**(case.cookies or {}), "sessionid": data["sessionid"], "csrftoken": CSRF}
        case.headers = {**(case.headers or {}), "X-CSRFToken": CSRF}


@pytest.fixture
def admin_session(live_server: Any) -> Iterator[None]:
    """An admin of an organization with a group, a member, a role and a token, signed in."""
    organization = Organization.objects.create(slug="described", name="Described")
    admin = AccountFactory(username="admin")
    assign_perm("configure_sso", admin, organization)
    group = ScimGroupFactory(organization=organization, display_name="Engineers")
    member = ScimUserFactory(organization=organization, account=AccountFactory())
    ScimMembershipFactory(group=group, user=member)
    make_role(organization, "Engineer", "configure_sso")
    issue_token(organization, label="okta")
    client = Client()
    client.force_login(admin)
    session = client.session
    session[SESSION_ORGANIZATION_KEY] = organization.pk
    session.save()
    SESSION["sessionid"] = str(session.session_key)
    yield
    SESSION.clear()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_portal_api_answers_as_described(case: Any, admin_session: None, live_server: Any):
    case.call_and_validate(base_url=live_server.url, timeout=30)
