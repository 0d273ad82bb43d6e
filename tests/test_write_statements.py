"""The statements a write takes on PostgreSQL, pinned (issue 12): S4, S5, S6 and L6 shapes.

Counted as the benchmark counts them (``bench.querycount``): every statement
the request executes, BEGIN and COMMIT aside. A change that adds a round trip
to a write fails here, with the statements listed, rather than only slowing
the benchmark. The counts are exact, not timings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from axon_scim.audit import SYSTEM, Actor, audited, record_event, record_events, verify_chain
from axon_scim.models import AuditEvent, RoleAssignment, ScimUser
from axon_scim.protocol.constants import USER_SCHEMA
from axon_scim.services import set_group_role

from .conftest import ScimClient, patch_body, requires_postgresql
from .factories import (
    AccountFactory,
    ScimGroupFactory,
    ScimMembershipFactory,
    ScimUserFactory,
    ScimUserValueFactory,
    make_role,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL of every statement executed inside the block."""
    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@pytest.fixture(autouse=True)
def core_only(settings: Any) -> None:
    """The counts are of the core schemas: no host-declared extension (the demo's has one)."""
    settings.AXON_SCIM = {}


def okta_user(name: str) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "New", "familyName": "Hire"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": "New Hire",
        "locale": "en-US",
        "externalId": f"00u-{name}",
        "groups": [],
        "active": True,
    }


@requires_postgresql
def test_post_user_takes_six_statements(scim: ScimClient) -> None:
    """Token; the account; the user, carrying the account; its emails; the chain head; events."""
    assert scim.post("Users", okta_user("first@example.com")).status_code == 201  # warms caches
    with statements() as seen:
        response = scim.post("Users", okta_user("second@example.com"))
    assert response.status_code == 201, response.content
    assert len(seen) == 6, seen
    user = ScimUser.objects.get(pk=response.json()["id"])
    assert user.account is not None and user.account.username == "acme:second@example.com"


@requires_postgresql
def test_entra_patch_takes_seven_statements(scim: ScimClient, org: Any) -> None:
    """Token; the user's lock; its values and groups (one statement); the account's lock;
    the user; the chain head; the events. The account already agrees: no write to it."""
    account = AccountFactory(username="acme:b@example.com", email="b@example.com")
    user = ScimUserFactory(organization=org, account=account, user_name="b@example.com")
    ScimUserValueFactory(user=user, value="b@example.com", type="work")
    ScimUserValueFactory(user=user, value="b@home.example", type="home", position=1)
    team = ScimMembershipFactory(user=user, group=ScimGroupFactory(organization=org)).group
    scim.get(f"Users/{user.pk}")  # warms the token's last use and the caches
    body = patch_body(
        {"op": "Replace", "path": "displayName", "value": "B J"},
        {"op": "Replace", "path": "title", "value": "Senior Engineer"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@example.com"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Research"},
        {"op": "Replace", "path": "active", "value": "True"},
    )
    with statements() as seen:
        response = scim.patch(f"Users/{user.pk}", body)
    assert response.status_code == 200, response.content
    assert len(seen) == 7, seen
    doc = response.json()
    assert doc["meta"]["version"] == 'W/"2"'
    assert [(e["type"], e["value"]) for e in doc["emails"]] == [
        ("work", "b@example.com"),
        ("home", "b@home.example"),
    ]
    assert [g["value"] for g in doc["groups"]] == [str(team.pk)]


@requires_postgresql
def test_member_patches_take_eight_statements(scim: ScimClient, org: Any) -> None:
    """Token; the group's lock; the users' lock; the rows with the users' versions (one
    statement); the group; the chain head; the events; the members for the response."""
    group = ScimGroupFactory(organization=org)
    people = [ScimUserFactory(organization=org) for _ in range(100)]
    members = [{"value": str(person.pk)} for person in people]
    scim.get(f"Groups/{group.pk}")
    for op in ("add", "remove"):
        with statements() as seen:
            response = scim.patch(
                f"Groups/{group.pk}", patch_body({"op": op, "path": "members", "value": members})
            )
        assert response.status_code == 200, response.content
        assert len(seen) == 8, (op, seen)
    assert set(ScimUser.objects.values_list("version", flat=True)) == {3}  # added, then removed


@requires_postgresql
def test_a_mapped_group_change_takes_the_same_statements_for_any_number_of_members(
    scim: ScimClient, org: Any
) -> None:
    """L6's shape: replace a mapped group's members; the rest lose the role, set-based."""
    role = make_role(org, "Operator", "configure_sso")
    counts = []
    for size in (20, 60):
        group = ScimGroupFactory(organization=org)
        set_group_role(org, SYSTEM, group.pk, role.pk)
        people = [ScimUserFactory(organization=org, account=AccountFactory()) for _ in range(size)]
        everyone = [{"value": str(person.pk)} for person in people]
        add = patch_body({"op": "add", "path": "members", "value": everyone})
        assert scim.patch(f"Groups/{group.pk}", add).status_code == 200
        keep = patch_body({"op": "replace", "path": "members", "value": everyone[:5]})
        with statements() as seen:
            assert scim.patch(f"Groups/{group.pk}", keep).status_code == 200
        counts.append(len(seen))
        held = RoleAssignment.objects.filter(group=group).values_list("account_id", flat=True)
        assert sorted(held) == sorted(person.account_id for person in people[:5])
        revoked = AuditEvent.objects.filter(
            action="role.revoked", after__groupDisplayName=group.display_name
        )
        assert revoked.count() == size - 5
    assert counts[0] == counts[1], counts


@pytest.mark.django_db
def test_record_events_records_what_record_event_would(org: Any) -> None:
    """The many events of a role change are copies of the first: each as record_event makes it."""
    actor = Actor(label="tester", request_id="req-1", ip="192.0.2.1", user_agent="ua")
    items = [(7, {"account": "a", "password": "hidden"}), (8, {"account": "b"}), (9, None)]
    with audited(org):
        record_events(org, actor, "role.granted", "Role", items)
    with audited(org):
        for resource_id, after in items:
            record_event(org, actor, "role.granted", "Role", resource_id, after=after)
    events = list(AuditEvent.objects.filter(organization=org).order_by("sequence"))
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5, 6]
    ignored = {"id", "sequence", "time", "previous_hash", "hash"}

    def shape(event: AuditEvent) -> dict[str, Any]:
        return {
            f.attname: getattr(event, f.attname)
            for f in AuditEvent._meta.concrete_fields
            if f.attname not in ignored
        }

    assert [shape(e) for e in events[:3]] == [shape(e) for e in events[3:]]
    assert events[0].after == {"account": "a", "password": "********"}
    assert [e.resource_id for e in events[:3]] == ["7", "8", "9"]
    assert verify_chain(org).ok
