"""Failed SCIM requests are recorded for the activity page: no body, capped, never in the way."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError

from axon_scim import request_failures
from axon_scim.models import Organization, ScimRequestFailure, ScimToken
from axon_scim.protocol.constants import USER_SCHEMA
from axon_scim.services import issue_token, revoke_token

from .conftest import ScimClient, provision

pytestmark = pytest.mark.django_db


def recorded(organization: Organization) -> list[dict[str, Any]]:
    return list(
        ScimRequestFailure.objects.for_tenant(organization)
        .order_by("id")
        .values("token__label", "method", "path", "status", "scim_type", "detail")
    )


def test_a_failed_request_is_recorded_without_its_query_or_body(scim: ScimClient, org):
    provision(scim, "alice@example.com")
    duplicate = scim.post(
        "Users", {"schemas": [USER_SCHEMA], "userName": "alice@example.com", "password": "s3cret"}
    )
    bad_filter = scim.get("Users", {"filter": 'userName eq "bob" and'})
    missing = scim.get("Users/3f9a1c9e-0000-4000-8000-000000000000")

    assert (duplicate.status_code, bad_filter.status_code, missing.status_code) == (409, 400, 404)
    assert recorded(org) == [
        {
            "token__label": "tests",
            "method": "POST",
            "path": "/scim/v2/Users",
            "status": 409,
            "scim_type": "uniqueness",
            "detail": duplicate.json()["detail"],
        },
        {
            "token__label": "tests",
            "method": "GET",
            "path": "/scim/v2/Users",
            "status": 400,
            "scim_type": "invalidFilter",
            "detail": bad_filter.json()["detail"],
        },
        {
            "token__label": "tests",
            "method": "GET",
            "path": "/scim/v2/Users/3f9a1c9e-0000-4000-8000-000000000000",
            "status": 404,
            "scim_type": "",
            "detail": missing.json()["detail"],
        },
    ]
    assert "s3cret" not in str(recorded(org))


def test_a_revoked_token_still_in_use_is_recorded_against_it(org):
    token, secret = issue_token(org, label="old okta")
    revoke_token(token)

    response = ScimClient(secret).get("Users")

    assert response.status_code == 401
    assert [(row["token__label"], row["status"]) for row in recorded(org)] == [("old okta", 401)]


def test_requests_without_a_known_token_are_not_recorded(org, anonymous_scim: ScimClient):
    assert anonymous_scim.get("Users").status_code == 401
    assert ScimClient("axscim_not-a-token").get("Users").status_code == 401
    assert ScimRequestFailure.objects.count() == 0


def test_throttled_requests_are_not_recorded(scim: ScimClient, org, settings):
    settings.AXON_SCIM = {"RATE_LIMIT": "1/min"}
    scim.get("Users")
    assert scim.get("Users").status_code == 429
    assert ScimRequestFailure.objects.count() == 0


def test_each_organization_keeps_its_newest_failures_only(
    scim: ScimClient, other_scim: ScimClient, org, other_org, monkeypatch
):
    monkeypatch.setattr(request_failures, "KEPT_PER_ORGANIZATION", 3)
    other_scim.get("Users/none")
    for n in range(5):
        scim.get(f"Users/missing-{n}")

    assert [row["path"] for row in recorded(org)] == [
        "/scim/v2/Users/missing-2",
        "/scim/v2/Users/missing-3",
        "/scim/v2/Users/missing-4",
    ]
    assert [row["path"] for row in recorded(other_org)] == ["/scim/v2/Users/none"]


def test_long_paths_and_details_are_shortened(scim: ScimClient, org):
    scim.get("Users/" + "x" * 400)
    (row,) = recorded(org)
    assert len(row["path"]) == 255
    assert row["path"].endswith("…")


def test_a_database_error_while_recording_changes_nothing_in_the_answer(
    scim: ScimClient, org, monkeypatch
):
    def fail(**kwargs: Any) -> None:
        raise DatabaseError("the disk is full")

    monkeypatch.setattr(ScimRequestFailure.objects, "create", fail)
    response = scim.get("Users/missing")

    assert response.status_code == 404
    assert response.json()["status"] == "404"
    assert ScimToken.objects.for_tenant(org).count() == 1
