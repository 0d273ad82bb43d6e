"""The portal flows under the hostile host: login, mapping PUT, tokens, audit log, access review.

The admin signs in through the host's login form (by email) and every write
carries the CSRF token, as a browser's would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import Client
from guardian.shortcuts import get_perms

from axon_scim.models import AuditEvent, ScimGroup, ScimToken
from axon_scim.protocol import constants as c

from ..conftest import ScimClient
from ..factories import make_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("host_versioning")]

API = "/api/v1/scim"


def provision(scim: ScimClient, *names: str, group: str) -> ScimGroup:
    """Users ``names`` and a group holding them, pushed through SCIM."""
    ids = []
    for name in names:
        response = scim.post("Users", {"schemas": [c.USER_SCHEMA], "userName": name})
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    response = scim.post(
        "Groups",
        {"schemas": [c.GROUP_SCHEMA], "displayName": group, "members": [{"value": i} for i in ids]},
    )
    assert response.status_code == 201, response.content
    return ScimGroup.objects.get(pk=response.json()["id"])


def test_a_mapping_put_grants_the_role_to_every_member(portal, scim, org):
    group = provision(scim, "ann@acme.example", "ben@acme.example", group="Prüfung")
    provision(scim, group="Empty")
    role = make_role(org, "Prüfer", "view_organization")

    listed = portal.get(f"{API}/groups/role-mappings", page=2, ordering="-display_name")
    put = portal.send(
        "PUT", f"{API}/groups/{group.pk}/role-mapping", json.dumps({"role_id": role.pk})
    )

    assert listed.status_code == 200, listed.content
    assert [g["display_name"] for g in listed.json()["results"]] == ["Empty", "Prüfung"]
    assert listed.json()["count"] == 2
    assert put.status_code == 200, put.content
    assert put.json() == {
        "id": str(group.pk),
        "display_name": "Prüfung",
        "role": {"id": role.pk, "name": "Prüfer"},
        "member_count": 2,
    }
    for member in group.memberships.select_related("user__account"):
        assert get_perms(member.user.account, org) == ["view_organization"]


def test_portal_bodies_are_compact_utf8_json(portal, org):
    make_role(org, "Prüfer")

    body = portal.get(f"{API}/roles").content

    assert body.startswith(b'{"count":1,"next":null')
    assert "Prüfer".encode() in body


def test_tokens_are_created_listed_and_revoked_with_iso_dates(portal, scim):
    created = portal.send(
        "POST", f"{API}/tokens", json.dumps({"label": "Okta", "expires": "2031-01-02T03:04:05Z"})
    )
    assert created.status_code == 201, created.content
    token = created.json()
    assert datetime.fromisoformat(token["expires"]) == datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert token["created_by"] == "ines@acme.example"
    okta = ScimClient(token["token"])
    assert okta.get("Users").status_code == 200

    listed = portal.get(f"{API}/tokens").json()["results"]
    revoked = portal.send("DELETE", f"{API}/tokens/{token['id']}")

    assert [t["label"] for t in listed] == ["Okta", "tests"]
    assert (
        datetime.fromisoformat(listed[0]["created"])
        == ScimToken.objects.get(pk=token["id"]).created
    )
    assert revoked.status_code == 204
    assert okta.get("Users").status_code == 401


def test_the_audit_log_filters_by_the_hosts_login(portal, portal_admin, org):
    portal.send("POST", f"{API}/tokens", json.dumps({"label": "first"}))
    portal.send("POST", f"{API}/tokens", json.dumps({"label": "second"}))

    log = portal.get(f"{API}/audit-events", actor="ines@acme.example", ordering="time", limit=5)

    assert log.status_code == 200, log.content
    events = log.json()["results"]
    assert [e["after"]["label"] for e in events] == ["second", "first"]
    assert {e["actor"]["label"] for e in events} == {"user ines@acme.example"}
    assert AuditEvent.objects.for_tenant(org).filter(actor_user=portal_admin).count() == 2


def test_the_access_review_answers_csv_on_request(portal, scim, org):
    group = provision(scim, "ann@acme.example", group="Prüfung")
    role = make_role(org, "Prüfer", "view_organization")
    portal.send("PUT", f"{API}/groups/{group.pk}/role-mapping", json.dumps({"role_id": role.pk}))

    review = portal.get(f"{API}/access-review", format="csv")

    assert review.status_code == 200, review.content
    assert review["Content-Type"] == "text/csv; charset=utf-8"
    assert "ann+acme@acme.example" in review.content.decode()


def test_errors_and_metadata_are_the_portals_own(portal, org):
    missing = portal.send("PUT", f"{API}/groups/nope/role-mapping", json.dumps({"role_id": None}))
    invalid = portal.send("POST", f"{API}/tokens", json.dumps({"expires": "01.02.2031 03:04"}))
    anonymous = Client().get(f"{API}/roles")
    options = portal.client.options(f"{API}/tokens")

    assert (missing.status_code, missing.json()) == (404, {"detail": 'Group "nope" not found.'})
    assert invalid.status_code == 400
    assert list(invalid.json()) == ["expires"]
    assert (anonymous.status_code, list(anonymous.json())) == (403, ["detail"])
    assert options.status_code == 200
    assert options.json()["name"] == "Token List"


def test_portal_rate_limit_is_per_host_account_and_audited(settings, portal, portal_admin, org):
    settings.AXON_SCIM = {**settings.AXON_SCIM, "PORTAL_RATE_LIMIT": "1/min"}

    first, second = portal.get(f"{API}/roles"), portal.get(f"{API}/roles")

    assert first.status_code == 200
    assert second.status_code == 429
    assert int(second["Retry-After"]) > 0
    # Committed, although the host wraps each request in a transaction.
    [event] = AuditEvent.objects.for_tenant(org).filter(action="portal.throttled")
    assert (event.resource_type, event.resource_id) == ("Account", str(portal_admin.pk))


def test_scim_rate_limit_answers_scims_own_429(settings, scim, org):
    settings.AXON_SCIM = {**settings.AXON_SCIM, "RATE_LIMIT": "1/min"}

    first, second = scim.get("Users"), scim.get("Users")

    assert first.status_code == 200
    assert (second.status_code, second.json()["status"]) == (429, "429")
    assert int(second["Retry-After"]) > 0
    assert AuditEvent.objects.for_tenant(org).filter(action="token.throttled").count() == 1
