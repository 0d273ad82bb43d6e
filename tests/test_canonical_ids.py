"""Ids are parsed once, and only the canonical id goes on (issue 7, finding 6).

Any of the forms RFC 4122 ids are written in (upper case, braces,
``urn:uuid:``, no hyphens) reaches the resource; audit events and signals
carry ``str(uuid)`` whatever form the client sent; anything else, however
long, is a 404. Signals sent after a DELETE name the deleted resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from axon_scim import signals
from axon_scim.models import AuditEvent, ScimGroup, ScimUser
from axon_scim.protocol import constants as c
from axon_scim.services import parse_id

from .conftest import patch_body, provision

ID = "8c2f6a41-5d3e-4b7a-9f10-2e6d4c8b1a07"


@pytest.mark.parametrize(
    "written",
    [
        ID,
        ID.upper(),
        "{" + ID.upper() + "}",
        "urn:uuid:" + ID,
        ID.replace("-", ""),
        "{" + ID.replace("-", "").upper() + "}",
    ],
)
def test_the_forms_of_an_id_parse_to_it(written):
    assert parse_id(written) == UUID(ID)


@pytest.mark.parametrize(
    "written",
    [
        "",
        "nope",
        ID[:-1],
        ID + "0",
        "{" + ID,
        ID + "}",
        "-" * 44 + ID.replace("-", ""),  # 76 characters that Python's UUID() would accept
        ID.replace("-", "") + "-" * 44,
        "urn:urn:uuid:" + ID,
        f" {ID}",
        ID[:8] + ID[9:],  # hyphens in some places only
        "x" * 5000,
        None,
        42,
    ],
)
def test_anything_else_does_not(written):
    assert parse_id(written) is None


@pytest.fixture
def received() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    got: list[tuple[str, dict[str, Any]]] = []
    handlers = {}
    for name in ("user_deprovisioned", "group_membership_changed"):

        def receive(sender: Any, name: str = name, **kwargs: Any) -> None:
            got.append((name, kwargs))

        handlers[name] = receive
        getattr(signals, name).connect(receive)
    yield got
    for name, handler in handlers.items():
        getattr(signals, name).disconnect(handler)


def new_group(scim: Any, *members: str) -> str:
    response = scim.post(
        "Groups",
        {
            "schemas": [c.GROUP_SCHEMA],
            "displayName": "Staff",
            "members": [{"value": m} for m in members],
        },
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


@pytest.mark.django_db(transaction=True)
def test_deleting_a_user_by_another_form_of_its_id_audits_and_signals_the_canonical_id(
    scim, received
):
    alice = provision(scim, "alice@x.com")
    staff = new_group(scim, alice)
    received.clear()
    assert scim.delete("Users/{" + alice.upper() + "}").status_code == 204
    assert not ScimUser.objects.filter(pk=alice).exists()
    deleted = AuditEvent.objects.get(action="user.deleted")
    assert deleted.resource_id == alice
    assert AuditEvent.objects.filter(resource_type="User", resource_id=alice).count() == 2
    group_event = AuditEvent.objects.filter(action="group.updated", resource_id=staff).get()
    assert group_event.after["membersRemoved"] == [alice]
    (deprovisioned, scim_user), (membership, group) = (
        (name, kwargs.get("scim_user") or kwargs.get("group")) for name, kwargs in received
    )
    assert (deprovisioned, str(scim_user.pk)) == ("user_deprovisioned", alice)
    assert (membership, str(group.pk)) == ("group_membership_changed", staff)
    assert received[1][1]["removed"] == [alice]


@pytest.mark.django_db(transaction=True)
def test_deleting_a_group_signals_and_audits_its_canonical_id(scim, received):
    alice = provision(scim, "alice@x.com")
    staff = new_group(scim, alice)
    received.clear()
    assert scim.delete(f"Groups/urn:uuid:{staff.upper()}").status_code == 204
    assert AuditEvent.objects.get(action="group.deleted").resource_id == staff
    [(name, arguments)] = received
    assert name == "group_membership_changed"
    assert str(arguments["group"].pk) == staff and arguments["removed"] == [alice]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_an_id_that_does_not_parse_is_not_found_whatever_its_length(scim, kind):
    target = provision(scim, "alice@x.com") if kind == "Users" else new_group(scim)
    bodies = {
        "GET": None,
        "DELETE": None,
        "PATCH": patch_body({"op": "replace", "path": "displayName", "value": "X"}),
        "PUT": {"schemas": [c.USER_SCHEMA], "userName": "alice@x.com"}
        if kind == "Users"
        else {"schemas": [c.GROUP_SCHEMA], "displayName": "Staff"},
    }
    events = AuditEvent.objects.count()
    for written in ("-" * 44 + target.replace("-", ""), "9" * 76, "x" * 300):
        for method, body in bodies.items():
            response = scim.request(method, f"{kind}/{written}", body)
            assert response.status_code == 404, (method, written, response.content)
            assert response.json()["schemas"] == [c.ERROR]
    assert AuditEvent.objects.count() == events
    model = ScimUser if kind == "Users" else ScimGroup
    assert model.objects.filter(pk=target).exists()
