"""The portal API: roles, group-to-role mappings, tokens and the audit log, whole bodies.

The gate itself is tested in ``test_portal_gate.py``; here an admin of
``org`` is signed in and every response body is compared whole.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from guardian.shortcuts import assign_perm
from rest_framework.fields import DateTimeField

from axon_scim.adapter import SESSION_ORGANIZATION_KEY
from axon_scim.models import AuditEvent, Organization, Role, ScimGroup, ScimToken
from axon_scim.protocol import constants as c
from axon_scim.services import Actor, issue_token, revoke_token

from .conftest import ScimClient
from .factories import (
    AccountFactory,
    ScimGroupFactory,
    ScimMembershipFactory,
    ScimUserFactory,
    make_role,
)

API = "/api/v1/scim"
EMPTY_PAGE = {"count": 0, "next": None, "previous": None, "results": []}


def iso(moment: datetime | None) -> str | None:
    """A datetime as the API renders it (DRF: ISO 8601, ``Z`` for UTC)."""
    return DateTimeField().to_representation(moment) if moment is not None else None


def page(results: list[Any], *, count: int | None = None, **links: str | None) -> dict[str, Any]:
    return {
        "count": len(results) if count is None else count,
        "next": links.get("next"),
        "previous": links.get("previous"),
        "results": results,
    }


@pytest.fixture
def admin(org: Organization) -> Any:
    user = AccountFactory(username="admin")
    assign_perm("configure_sso", user, org)
    return user


@pytest.fixture
def portal(admin: Any, org: Organization) -> Client:
    """The admin's session, acting for ``org``."""
    client = Client()
    client.force_login(admin)
    session = client.session
    session[SESSION_ORGANIZATION_KEY] = org.pk
    session.save()
    return client


def put_mapping(client: Client, group: ScimGroup | str, role_id: Any, **headers: str) -> Any:
    return client.put(
        f"{API}/groups/{getattr(group, 'pk', group)}/role-mapping",
        json.dumps({"role_id": role_id}),
        content_type="application/json",
        headers=headers,
    )


def member(group: ScimGroup, username: str) -> Any:
    """Put a new SCIM user with a portal account into ``group``; return the account."""
    account = AccountFactory(username=username)
    user = ScimUserFactory(organization=group.organization, account=account)
    ScimMembershipFactory(group=group, user=user)
    return account


def holds(account: Any, codename: str, organization: Organization) -> bool:
    # Guardian caches permissions on the user object: ask a fresh one.
    fresh = get_user_model().objects.get(pk=account.pk)
    return bool(fresh.has_perm(f"axon_scim.{codename}", organization))


# --- Roles ------------------------------------------------------------------------


@pytest.mark.django_db
def test_roles_lists_the_organizations_roles_with_permission_codenames(portal, org, other_org):
    editor = make_role(
        org, "Editor", "view_organization", "change_organization", description="Edits"
    )
    viewer = make_role(org, "Viewer", "view_organization")
    bare = make_role(org, "Auditor")
    make_role(other_org, "Theirs", "view_organization")
    response = portal.get(f"{API}/roles")
    assert response.status_code == 200
    assert response.json() == page(
        [
            {"id": bare.pk, "name": "Auditor", "description": "", "permissions": []},
            {
                "id": editor.pk,
                "name": "Editor",
                "description": "Edits",
                "permissions": ["change_organization", "view_organization"],
            },
            {
                "id": viewer.pk,
                "name": "Viewer",
                "description": "",
                "permissions": ["view_organization"],
            },
        ]
    )


@pytest.mark.django_db
def test_roles_of_an_organization_without_any(portal):
    assert portal.get(f"{API}/roles").json() == EMPTY_PAGE


# --- Role mappings: listing ----------------------------------------------------------


@pytest.mark.django_db
def test_role_mappings_list_every_group_by_display_name(portal, org, other_org):
    viewer = make_role(org, "Viewer", "view_organization")
    beta = ScimGroupFactory(organization=org, display_name="beta", role=viewer)
    alpha = ScimGroupFactory(organization=org, display_name="Alpha")
    gamma = ScimGroupFactory(organization=org, display_name="gamma")
    for _ in range(2):
        ScimMembershipFactory(group=beta)
    ScimMembershipFactory(group=gamma)
    # A nested group is a direct member too.
    ScimMembershipFactory(group=gamma, user=None, member_group=alpha)
    ScimMembershipFactory(group=ScimGroupFactory(organization=other_org, display_name="Alpha 2"))
    response = portal.get(f"{API}/groups/role-mappings")
    assert response.status_code == 200
    assert response.json() == page(
        [
            {"id": str(alpha.pk), "display_name": "Alpha", "role": None, "member_count": 0},
            {
                "id": str(beta.pk),
                "display_name": "beta",
                "role": {"id": viewer.pk, "name": "Viewer"},
                "member_count": 2,
            },
            {"id": str(gamma.pk), "display_name": "gamma", "role": None, "member_count": 2},
        ]
    )


@pytest.mark.django_db
def test_role_mappings_are_paged_with_limit_and_offset(portal, org):
    groups = [ScimGroupFactory(organization=org, display_name=f"g{i}") for i in range(5)]
    url = f"http://testserver{API}/groups/role-mappings"
    first = portal.get(f"{API}/groups/role-mappings", {"limit": 2}).json()
    assert first == page(
        [
            {"id": str(g.pk), "display_name": g.display_name, "role": None, "member_count": 0}
            for g in groups[:2]
        ],
        count=5,
        next=f"{url}?limit=2&offset=2",
    )
    last = portal.get(f"{API}/groups/role-mappings", {"limit": 2, "offset": 4}).json()
    assert last == page(
        [{"id": str(groups[4].pk), "display_name": "g4", "role": None, "member_count": 0}],
        count=5,
        previous=f"{url}?limit=2&offset=2",
    )


def count_queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["/roles", "/groups/role-mappings", "/tokens", "/audit-events"])
@pytest.mark.django_db
def test_list_queries_do_not_grow_with_the_rows(portal, org, admin, path):
    def add_rows(n: int) -> None:
        for _ in range(n):
            role = make_role(org, f"role {Role.objects.count()}", "view_organization")
            group = ScimGroupFactory(organization=org, role=role)
            ScimMembershipFactory(group=group)
            ScimMembershipFactory(group=group)
            issue_token(org, Actor(user=admin), label="t")

    add_rows(1)
    few = count_queries(portal, API + path)
    add_rows(6)
    assert count_queries(portal, API + path) == few


# --- Role mappings: changes ---------------------------------------------------------


@pytest.mark.django_db
def test_setting_a_mapping_grants_the_role_to_every_member(portal, org, admin):
    editor = make_role(org, "Editor", "view_organization", "change_organization")
    group = ScimGroupFactory(organization=org, display_name="Engineering")
    alice, bob = member(group, "alice"), member(group, "bob")
    outsider = AccountFactory(username="outsider")
    assert not holds(alice, "view_organization", org)

    response = put_mapping(portal, group, editor.pk)
    assert response.status_code == 200
    assert response.json() == {
        "id": str(group.pk),
        "display_name": "Engineering",
        "role": {"id": editor.pk, "name": "Editor"},
        "member_count": 2,
    }
    assert ScimGroup.objects.get(pk=group.pk).role_id == editor.pk
    for account in (alice, bob):
        assert holds(account, "view_organization", org)
        assert holds(account, "change_organization", org)
    assert not holds(outsider, "view_organization", org)


@pytest.mark.django_db
def test_clearing_a_mapping_revokes_the_role(portal, org):
    viewer = make_role(org, "Viewer", "view_organization")
    group = ScimGroupFactory(organization=org, display_name="Sales")
    alice = member(group, "alice")
    assert put_mapping(portal, group, viewer.pk).status_code == 200
    assert holds(alice, "view_organization", org)

    response = put_mapping(portal, group, None)
    assert response.status_code == 200
    assert response.json() == {
        "id": str(group.pk),
        "display_name": "Sales",
        "role": None,
        "member_count": 1,
    }
    assert ScimGroup.objects.get(pk=group.pk).role_id is None
    assert not holds(alice, "view_organization", org)


@pytest.mark.django_db
def test_changing_a_mapping_swaps_the_permissions(portal, org):
    viewer = make_role(org, "Viewer", "view_organization")
    editor = make_role(org, "Editor", "change_organization")
    group = ScimGroupFactory(organization=org)
    alice = member(group, "alice")
    put_mapping(portal, group, viewer.pk)
    response = put_mapping(portal, group, editor.pk)
    assert response.status_code == 200
    assert response.json()["role"] == {"id": editor.pk, "name": "Editor"}
    assert holds(alice, "change_organization", org)
    assert not holds(alice, "view_organization", org)


@pytest.mark.django_db
def test_setting_the_same_mapping_twice_is_harmless(portal, org):
    viewer = make_role(org, "Viewer", "view_organization")
    group = ScimGroupFactory(organization=org)
    alice = member(group, "alice")
    first = put_mapping(portal, group, viewer.pk)
    events = AuditEvent.objects.count()
    second = put_mapping(portal, group, viewer.pk)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert holds(alice, "view_organization", org)
    assert AuditEvent.objects.count() == events  # nothing changed, nothing recorded


@pytest.mark.django_db
def test_a_mapping_change_is_audited_with_the_portal_user_and_request(portal, org, admin):
    viewer = make_role(org, "Viewer", "view_organization")
    group = ScimGroupFactory(organization=org, display_name="Ops")
    member(group, "alice")
    response = put_mapping(
        portal, group, viewer.pk, **{"X-Request-ID": "req-42", "User-Agent": "portal-ui/1"}
    )
    assert response.status_code == 200
    mapping = AuditEvent.objects.get(organization=org, resource_type="Group")
    listed = portal.get(f"{API}/audit-events", {"resource_type": "Group"}).json()["results"]
    assert listed == [
        {
            "id": mapping.pk,
            "time": iso(mapping.time),
            "action": mapping.action,
            "resource_type": "Group",
            "resource_id": str(group.pk),
            "actor": {"type": "user", "label": "user admin"},
            "before": mapping.before,
            "after": mapping.after,
            "request_id": "req-42",
            "ip": "127.0.0.1",
            "user_agent": "portal-ui/1",
            "sequence": mapping.sequence,
            "hash": mapping.hash,
        }
    ]
    assert mapping.sequence is not None and len(mapping.hash) == 64
    # The grant to the member is recorded by the same request.
    granted = portal.get(f"{API}/audit-events", {"action": "role.granted"}).json()["results"]
    assert [(e["resource_id"], e["request_id"]) for e in granted] == [(str(viewer.pk), "req-42")]


@pytest.mark.django_db
def test_a_request_without_an_id_gets_one(portal, org):
    viewer = make_role(org, "Viewer")
    group = ScimGroupFactory(organization=org)
    put_mapping(portal, group, viewer.pk)
    event = AuditEvent.objects.get(resource_type="Group")
    assert len(event.request_id) == 32
    int(event.request_id, 16)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"role_id": ["This field is required."]}),
        ({"role_id": "viewer"}, {"role_id": ["A valid integer is required."]}),
        ({"role_id": True}, {"role_id": ["A valid integer is required."]}),
        ({"role_id": [1]}, {"role_id": ["A valid integer is required."]}),
        ({"role_id": 0}, {"role_id": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"role_id": 2**63},
            {"role_id": ["Ensure this value is less than or equal to 9223372036854775807."]},
        ),
        ([], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
)
@pytest.mark.django_db
def test_a_bad_mapping_body_answers_400(portal, org, body, expected):
    group = ScimGroupFactory(organization=org)
    response = portal.put(
        f"{API}/groups/{group.pk}/role-mapping", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == expected
    assert ScimGroup.objects.get(pk=group.pk).role_id is None
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_malformed_json_answers_400(portal, org):
    group = ScimGroupFactory(organization=org)
    response = portal.put(
        f"{API}/groups/{group.pk}/role-mapping", "{nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.django_db
def test_a_role_that_never_existed_answers_404(portal, org):
    group = ScimGroupFactory(organization=org)
    response = put_mapping(portal, group, 987654)
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/roles"),
        ("post", "/groups/role-mappings"),
        ("get", "/groups/{group}/role-mapping"),
        ("put", "/tokens"),
        ("get", "/tokens/{token}"),
        ("delete", "/audit-events"),
    ],
)
@pytest.mark.django_db
def test_other_methods_answer_405(portal, org, method, path):
    group = ScimGroupFactory(organization=org)
    token = issue_token(org)[0]
    url = API + path.format(group=group.pk, token=token.pk)
    response = getattr(portal, method)(url)
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


# --- Tokens -------------------------------------------------------------------------


def token_body(token: ScimToken, created_by: str | None) -> dict[str, Any]:
    token.refresh_from_db()
    return {
        "id": token.pk,
        "label": token.label,
        "prefix": token.prefix,
        "created": iso(token.created),
        "created_by": created_by,
        "last_used": iso(token.last_used),
        "expires": iso(token.expires),
        "revoked": iso(token.revoked),
    }


@pytest.mark.django_db
def test_tokens_list_newest_first_without_secrets(portal, org, other_org, admin):
    old, old_secret = issue_token(org, label="okta")
    expiring, expiring_secret = issue_token(
        org, Actor(user=admin), label="entra", expires=now() + timedelta(days=7)
    )
    revoked, revoked_secret = issue_token(org, Actor(user=admin), label="old")
    revoke_token(revoked, Actor(user=admin))
    issue_token(other_org, label="theirs")
    assert ScimClient(old_secret).get("Users").status_code == 200

    response = portal.get(f"{API}/tokens")
    assert response.status_code == 200
    assert response.json() == page(
        [
            token_body(revoked, "admin"),
            token_body(expiring, "admin"),
            token_body(old, None),
        ]
    )
    assert response.json()["results"][2]["last_used"] is not None
    text = response.content.decode()
    for secret in (old_secret, expiring_secret, revoked_secret):
        assert secret not in text
    for token in (old, expiring, revoked):
        assert token.secret_hash not in text


@pytest.mark.django_db
def test_creating_a_token_shows_its_secret_once(portal, org):
    response = portal.post(
        f"{API}/tokens",
        {"label": "Okta production"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    token = ScimToken.objects.get(organization=org, label="Okta production")
    secret = response.json()["token"]
    assert response.json() == {**token_body(token, "admin"), "token": secret}
    assert secret.startswith(token.prefix)
    assert ScimToken.hash_secret(secret) == token.secret_hash

    # The secret works as a SCIM bearer token of the organization ...
    scim = ScimClient(secret)
    created = scim.post("Users", {"schemas": [c.USER_SCHEMA], "userName": "new@acme.test"})
    assert created.status_code == 201
    assert scim.get("Users").json()["totalResults"] == 1
    # ... and no portal response ever shows it again.
    for path in ("/tokens", "/audit-events"):
        assert secret not in portal.get(API + path).content.decode()


@pytest.mark.django_db
def test_a_token_may_expire_at_a_time_or_after_days(portal, org):
    at = portal.post(
        f"{API}/tokens",
        {"label": "dated", "expires": "2031-05-04T03:02:01+02:00"},
        content_type="application/json",
    )
    assert at.status_code == 201
    assert at.json()["expires"] == "2031-05-04T01:02:01Z"

    before = now()
    later = portal.post(f"{API}/tokens", {"expires_in_days": 30}, content_type="application/json")
    assert later.status_code == 201
    assert later.json()["label"] == ""
    expires = ScimToken.objects.get(pk=later.json()["id"]).expires
    assert expires is not None
    assert before + timedelta(days=30) <= expires <= now() + timedelta(days=30)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"expires": "2031-01-01T00:00:00Z", "expires_in_days": 3},
            {"non_field_errors": ["Give expires or expires_in_days, not both."]},
        ),
        ({"expires": "2001-01-01T00:00:00Z"}, {"expires": ["The expiry must be in the future."]}),
        (
            {"expires": "next week"},
            {
                "expires": [
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                ]
            },
        ),
        (
            {"expires_in_days": 0},
            {"expires_in_days": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"expires_in_days": 4000},
            {"expires_in_days": ["Ensure this value is less than or equal to 3650."]},
        ),
        ({"label": "x" * 201}, {"label": ["Ensure this field has no more than 200 characters."]}),
    ],
)
@pytest.mark.django_db
def test_a_bad_token_body_answers_400(portal, org, body, expected):
    response = portal.post(f"{API}/tokens", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == expected
    assert not ScimToken.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_revoked_token_fails_from_the_next_request_on(portal, org):
    token, secret = issue_token(org, label="idp")
    scim = ScimClient(secret)
    assert scim.get("Users").status_code == 200

    response = portal.delete(f"{API}/tokens/{token.pk}")
    assert response.status_code == 204
    assert response.content == b""
    refused = scim.get("Users")
    assert refused.status_code == 401
    assert refused.json()["schemas"] == [c.ERROR]
    token.refresh_from_db()
    assert token.revoked is not None
    listed = portal.get(f"{API}/tokens").json()["results"]
    assert listed == [token_body(token, None)]


@pytest.mark.django_db
def test_revoking_twice_is_fine_and_recorded_once(portal, org):
    token, _ = issue_token(org, label="idp")
    assert portal.delete(f"{API}/tokens/{token.pk}").status_code == 204
    revoked_at = ScimToken.objects.get(pk=token.pk).revoked
    assert portal.delete(f"{API}/tokens/{token.pk}").status_code == 204
    assert ScimToken.objects.get(pk=token.pk).revoked == revoked_at
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


# --- Audit events -------------------------------------------------------------------


def event_at(org: Organization, minutes: int, **fields: Any) -> AuditEvent:
    """An event written at a fixed time (straight to the table: the chain is not in scope here)."""
    moment = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    defaults: dict[str, Any] = {"action": "user.created", "resource_type": "User"}
    return AuditEvent.objects.create(organization=org, time=moment, **{**defaults, **fields})


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [event["id"] for event in response.json()["results"]]


@pytest.mark.django_db
def test_audit_events_show_each_kind_of_actor(portal, org, other_org, admin):
    _, secret = issue_token(org, label="idp")  # by the system
    scim_token = ScimToken.objects.get(organization=org)
    ScimClient(secret).post("Users", {"schemas": [c.USER_SCHEMA], "userName": "ann@acme.test"})
    portal.post(f"{API}/tokens", {"label": "second"}, content_type="application/json")
    issue_token(other_org, label="theirs")
    response = portal.get(f"{API}/audit-events")
    assert response.status_code == 200
    body = response.json()
    events = list(AuditEvent.objects.filter(organization=org).order_by("-time", "-id"))
    assert [e.action for e in events] == ["token.created", "user.created", "token.created"]
    assert body == page(
        [
            {
                "id": e.pk,
                "time": iso(e.time),
                "action": e.action,
                "resource_type": e.resource_type,
                "resource_id": e.resource_id,
                "actor": actor,
                "before": e.before,
                "after": e.after,
                "request_id": e.request_id,
                "ip": e.ip,
                "user_agent": e.user_agent,
                "sequence": e.sequence,
                "hash": e.hash,
            }
            for e, actor in zip(
                events,
                [
                    {"type": "user", "label": "user admin"},
                    {"type": "token", "label": f"token {scim_token.prefix}"},
                    {"type": "system", "label": "system"},
                ],
                strict=True,
            )
        ]
    )
    assert [e["sequence"] for e in body["results"]] == [3, 2, 1]


@pytest.mark.django_db
def test_audit_events_never_show_secrets(portal, org):
    created = portal.post(f"{API}/tokens", {"label": "idp"}, content_type="application/json")
    secret = created.json()["token"]
    scim = ScimClient(secret)
    scim.post(
        "Users",
        {"schemas": [c.USER_SCHEMA], "userName": "bo@acme.test", "password": "Correct-Horse-9"},
    )
    portal.delete(f"{API}/tokens/{created.json()['id']}")
    text = portal.get(f"{API}/audit-events").content.decode()
    assert json.loads(text)["count"] == 3
    assert secret not in text
    assert "Correct-Horse-9" not in text
    assert ScimToken.objects.get().secret_hash not in text


@pytest.mark.django_db
def test_audit_events_are_newest_first_and_paged(portal, org):
    events = [event_at(org, minutes) for minutes in (5, 1, 3, 2, 4)]
    newest_first = [e.pk for e in sorted(events, key=lambda e: e.time, reverse=True)]
    assert ids(portal.get(f"{API}/audit-events")) == newest_first
    second = portal.get(f"{API}/audit-events", {"limit": 2, "offset": 2})
    assert ids(second) == newest_first[2:4]
    url = f"http://testserver{API}/audit-events"
    assert second.json()["count"] == 5
    assert second.json()["next"] == f"{url}?limit=2&offset=4"
    assert second.json()["previous"] == f"{url}?limit=2"


@pytest.mark.django_db
def test_events_at_the_same_time_keep_a_stable_order(portal, org):
    same = [event_at(org, 0) for _ in range(3)]
    assert ids(portal.get(f"{API}/audit-events")) == [e.pk for e in reversed(same)]


@pytest.mark.django_db
def test_audit_events_filter_by_action_and_resource(portal, org, other_org):
    created = event_at(org, 1, action="user.created", resource_type="User", resource_id="u1")
    updated = event_at(org, 2, action="user.updated", resource_type="User", resource_id="u1")
    other = event_at(org, 3, action="user.updated", resource_type="User", resource_id="u2")
    group = event_at(org, 4, action="group.created", resource_type="Group", resource_id="g1")
    event_at(other_org, 5, action="user.updated", resource_type="User", resource_id="u1")
    get = lambda **params: ids(portal.get(f"{API}/audit-events", params))  # noqa: E731
    assert get(action="user.updated") == [other.pk, updated.pk]
    assert get(resource_type="User") == [other.pk, updated.pk, created.pk]
    assert get(resource_type="Group") == [group.pk]
    assert get(resource_id="u1") == [updated.pk, created.pk]
    assert get(resource_type="User", resource_id="u1", action="user.created") == [created.pk]
    assert get(action="") == [group.pk, other.pk, updated.pk, created.pk]  # blank: no filter
    assert portal.get(f"{API}/audit-events", {"action": "nope"}).json() == EMPTY_PAGE


@pytest.mark.django_db
def test_audit_events_filter_by_actor(portal, org, admin):
    token, _ = issue_token(org, label="idp")
    by_admin = event_at(org, 1, actor_user=admin, actor_label="user admin")
    by_token = event_at(org, 2, actor_token=token, actor_label=f"token {token.prefix}")
    by_label = event_at(org, 3, actor_label="nightly import")
    get = lambda actor: ids(portal.get(f"{API}/audit-events", {"actor": actor}))  # noqa: E731
    assert get("admin") == [by_admin.pk]  # the portal user's username
    assert get("user admin") == [by_admin.pk]  # the actor label
    assert get(token.prefix) == [by_token.pk]  # the token's prefix
    assert get("nightly import") == [by_label.pk]
    assert get("adm") == []  # exact matches only


@pytest.mark.django_db
def test_audit_events_filter_by_time_range(portal, org):
    events = [event_at(org, minutes) for minutes in range(5)]  # 00:00 ... 00:04
    get = lambda **params: ids(portal.get(f"{API}/audit-events", params))  # noqa: E731
    assert get(since="2030-01-01T00:02:00Z") == [e.pk for e in reversed(events[2:])]
    assert get(until="2030-01-01T00:02:00Z") == [e.pk for e in reversed(events[:2])]
    assert get(since="2030-01-01T00:01:00Z", until="2030-01-01T00:03:00Z") == [
        events[2].pk,
        events[1].pk,
    ]
    # Offsets are honoured; a naive datetime is read in the server's time zone (UTC).
    assert get(since="2030-01-01T01:03:00+01:00") == [events[4].pk, events[3].pk]
    assert get(since="2030-01-01T00:04:00") == [events[4].pk]
    assert get(since="", until="") == [e.pk for e in reversed(events)]  # blank: no filter


@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize("value", ["yesterday", "2030-13-01T00:00:00Z", "1700000000"])
@pytest.mark.django_db
def test_a_bad_time_filter_answers_400(portal, org, param, value):
    event_at(org, 0)
    response = portal.get(f"{API}/audit-events", {param: value})
    assert response.status_code == 400
    assert response.json() == {
        param: [
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
        ]
    }


@pytest.mark.parametrize("path", ["/roles", "/groups/role-mappings", "/tokens", "/audit-events"])
@pytest.mark.django_db
def test_page_parameters_beyond_any_table_answer_an_empty_page(portal, org, path):
    response = portal.get(API + path, {"offset": 10**30, "limit": 10**30})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.django_db
def test_access_review_json_and_csv(portal, org, other_org):
    from axon_scim.models import RoleAssignment

    alice = ScimUserFactory(
        organization=org, user_name="alice@x.com", account=AccountFactory(username="acme:alice")
    )
    ScimUserFactory(organization=org, user_name="bob@x.com", active=False)
    ScimUserFactory(organization=other_org, user_name="mallory@x.com")
    role = make_role(org, "Viewer", "view_organization")
    staff = ScimGroupFactory(organization=org, display_name="Staff", role=role)
    RoleAssignment.objects.create(organization=org, account=alice.account, role=role, group=staff)
    response = portal.get("/api/v1/scim/access-review", HTTP_X_TENANT_ID=str(other_org.pk))
    body = response.json()
    assert body["organization"] == "acme"
    rows = [
        (r["user_name"], r["active"], r["role"], [g["display_name"] for g in r["groups"]])
        for r in body["results"]
    ]
    assert rows == [("alice@x.com", True, "Viewer", ["Staff"]), ("bob@x.com", False, None, [])]
    csv_response = portal.get("/api/v1/scim/access-review", {"format": "csv"})
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    text = csv_response.content.decode()
    lines = text.splitlines()
    assert lines[0].startswith("user_name,user_id,display_name,active,account,role")
    assert len(lines) == 3 and "Staff" in lines[1] and "mallory" not in text
    assert Client().get("/api/v1/scim/access-review", {"format": "csv"}).status_code == 403


@pytest.mark.django_db
def test_portal_errors_are_json_never_html(portal):
    big = json.dumps({"label": "x" * 3_000_000})
    response = portal.post("/api/v1/scim/tokens", big, content_type="application/json")
    assert (response.status_code, response["Content-Type"]) == (413, "application/json")
    deep = '{"label": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = portal.post("/api/v1/scim/tokens", deep, content_type="application/json")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {"detail": "The request body is nested too deeply."}


@pytest.mark.django_db
def test_portal_500_reveals_nothing(portal, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("hunter2")

    monkeypatch.setattr("axon_scim.services.issue_token", explode)
    response = portal.post("/api/v1/scim/tokens", {"label": "x"}, content_type="application/json")
    assert response.status_code == 500
    assert response.json() == {"detail": "An internal error occurred. It has been logged."}
