"""Input no attribute can hold answers a 400 naming where it is, never a 500 (issue #7, finding 3).

A lone surrogate (``"\\ud800"``) has no UTF-8 encoding, and PostgreSQL
refuses NUL in text: both are refused where text enters, by the JSON body
parsers and the filter lexer (``protocol.text``), on every endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from guardian.shortcuts import assign_perm

from axon_scim.adapter import SESSION_ORGANIZATION_KEY
from axon_scim.models import AuditEvent, Organization, ScimGroup, ScimToken, ScimUser
from axon_scim.protocol import constants as c
from axon_scim.protocol.errors import InvalidValueError

from .conftest import ScimClient, provision
from .test_errors import assert_error

LONE = "\\ud800"  # as JSON spells it: a high surrogate with no low half
BAD = "@bad@"  # where a body below holds a string with a lone surrogate


def spelled(doc: dict[str, Any]) -> str:
    """``doc`` as JSON text, each ``BAD`` turned into ``x\\ud800y``."""
    return json.dumps(doc).replace(BAD, f"x{LONE}y")


@pytest.fixture
def portal(org: Organization) -> Client:
    """A portal session of an admin holding sso:configure on ``org``."""
    admin = get_user_model().objects.create(username="admin")
    assign_perm("configure_sso", admin, org)
    client = Client()
    client.force_login(admin)
    session = client.session
    session[SESSION_ORGANIZATION_KEY] = org.pk
    session.save()
    return client


def state() -> tuple[int, int, int]:
    return ScimUser.objects.count(), ScimGroup.objects.count(), AuditEvent.objects.count()


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [c.PATCH_OP], "Operations": list(operations)}


USER = {"schemas": [c.USER_SCHEMA], "userName": "u@x.com"}
SEARCH = {"schemas": [c.SEARCH_REQUEST], "filter": f'userName eq "{BAD}"'}

SURROGATE_BODIES = [
    ("POST", "Users", {**USER, "userName": BAD}, '"userName"'),
    ("POST", "Users", {**USER, "displayName": BAD}, '"displayName"'),
    ("POST", "Users", {**USER, "emails": [{"value": BAD}]}, '"emails[0].value"'),
    ("POST", "Users", {**USER, "name": {BAD: "x"}}, 'A key of "name"'),
    ("PUT", "Users/{user}", {**USER, "title": BAD}, '"title"'),
    (
        "PATCH",
        "Users/{user}",
        patch({"op": "add", "path": "displayName", "value": BAD}),
        '"Operations[0].value"',
    ),
    ("PATCH", "Users/{user}", patch({"op": "add", "path": BAD, "value": 1}), "Operations[0].path"),
    (
        "PATCH",
        "Groups/{group}",
        patch({"op": "add", "path": "members", "value": [{"value": BAD}]}),
        '"Operations[0].value[0].value"',
    ),
    ("POST", "Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": BAD}, '"displayName"'),
    ("POST", "Users/.search", SEARCH, '"filter"'),
    ("POST", "Groups/.search", SEARCH, '"filter"'),
    ("POST", ".search", SEARCH, '"filter"'),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "doc", "where"), SURROGATE_BODIES)
def test_lone_surrogates_in_bodies_are_400_naming_where(
    scim: ScimClient, method: str, path: str, doc: dict[str, Any], where: str
) -> None:
    user = provision(scim, "someone@x.com")
    group = scim.post("Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "G"}).json()["id"]
    before = state()
    response = scim.request(method, path.format(user=user, group=group), spelled(doc))
    error = assert_error(response, 400, "invalidValue")
    assert "lone UTF-16 surrogate (\\ud800)" in error["detail"]
    assert where in error["detail"]
    assert state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [f'userName eq "{LONE}"', 'userName eq "\\u0000"', 'emails[value eq "a\\u0000"]'],
)
def test_surrogate_and_nul_escapes_in_filters_are_400_invalid_filter(
    scim: ScimClient, text: str
) -> None:
    """PostgreSQL answered the NUL with a DataError: a 500."""
    assert_error(scim.get("Users", {"filter": text}), 400, "invalidFilter")
    search = {"schemas": [c.SEARCH_REQUEST], "filter": text}
    assert_error(scim.post("Users/.search", search), 400, "invalidFilter")
    assert_error(scim.post(".search", search), 400, "invalidFilter")


@pytest.mark.django_db
def test_nul_escapes_in_paths_and_sort_are_400(scim: ScimClient) -> None:
    user = provision(scim, "someone@x.com")
    op = {"op": "replace", "path": 'emails[value eq "\\u0000"].type', "value": "work"}
    response = scim.patch(f"Users/{user}", {"schemas": [c.PATCH_OP], "Operations": [op]})
    assert_error(response, 400, "invalidPath")
    assert_error(scim.get("Users", {"sortBy": "userName\x00"}), 400, "invalidValue")


def test_an_error_quoting_a_lone_surrogate_still_renders() -> None:
    """The member case was an HTML 500 with nothing in the SCIM log.

    The 400 that named the bad member id quoted it; the error body then
    failed to encode as UTF-8 while Django rendered it, after the SCIM
    exception handler had returned, so Django's own HTML 500 answered.
    """
    body = InvalidValueError('Member "x\ud800" is not a user.').to_body()
    assert json.dumps(body, ensure_ascii=False).encode()
    assert body["detail"] == 'Member "x\ufffd" is not a user.'


@pytest.mark.django_db
def test_a_user_agent_with_control_characters_is_recorded_without_them(
    scim: ScimClient,
) -> None:
    response = scim.post(
        "Users",
        {"schemas": [c.USER_SCHEMA], "userName": "ua@x.com"},
        headers={"User-Agent": "Okta\x00 SCIM\x1b[31m"},
    )
    assert response.status_code == 201, response.content
    assert AuditEvent.objects.get(action="user.created").user_agent == "Okta SCIM[31m"


@pytest.mark.django_db
@pytest.mark.parametrize("text", [f'"x{LONE}"', '"x\\u0000"'])
def test_portal_bodies_with_surrogates_or_nul_are_400(portal: Client, text: str) -> None:
    response = portal.post(
        "/api/v1/scim/tokens", f'{{"label": {text}}}', content_type="application/json"
    )
    assert response.status_code == 400, response.content
    body: dict[str, Any] = response.json()
    assert '"label"' in body["detail"]
    assert not ScimToken.objects.exists()


# --- what the property tests found (tests/test_never_500.py, tests/test_filter_agreement.py) ---


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        'meta.created gt "0001-01-01T00:00:00+01:00"',
        'meta.lastModified lt "9999-12-31T23:59:59-01:00"',
    ],
)
def test_a_datetime_utc_cannot_write_is_400_invalid_filter(scim: ScimClient, text: str) -> None:
    """A 500 on SQLite (OverflowError converting to UTC); PostgreSQL answered 200."""
    assert_error(scim.get("Users", {"filter": text}), 400, "invalidFilter")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/scim/v2/%0A", "/scim/v2/Users%0A/x", "/scim/v2/a%0Ab"])
def test_a_path_holding_a_newline_is_a_scim_404(scim: ScimClient, path: str) -> None:
    """Django's HTML 404 answered: the catch-all pattern stopped at the newline."""
    assert_error(scim.get(path), 404)


@pytest.mark.django_db
def test_the_scim_404_answers_in_the_accepted_media_type(scim: ScimClient) -> None:
    response = scim.get("/scim/v2/Nothing", headers={"Accept": "application/json"})
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["schemas"] == [c.ERROR]


@pytest.mark.django_db
def test_options_on_the_portal_api_describes_the_view_not_500(
    org: Organization, portal: Client
) -> None:
    """DRF's OPTIONS metadata called get_object() on the role-mapping view, which has none."""
    group = ScimGroup.objects.create(organization=org, display_name="G")
    for path in (f"groups/{group.pk}/role-mapping", "tokens", "roles"):
        response = portal.options(f"/api/v1/scim/{path}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json"
        assert "actions" not in response.json()
