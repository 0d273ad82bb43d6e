"""Every SCIM write leaves one audit event, written in the transaction of the write."""

from __future__ import annotations

import pytest

from axon_scim.models import AuditEvent, ScimToken
from axon_scim.protocol import constants as c

USER = {"schemas": [c.USER_SCHEMA], "userName": "audit@x.com", "password": "s3cret!"}


@pytest.mark.django_db
def test_write_records_who_what_where(scim, org):
    response = scim.post(
        "Users", USER, headers={"X-Request-ID": "req-42", "User-Agent": "Okta SCIM Client 1.0"}
    )
    user_id = response.json()["id"]
    event = AuditEvent.objects.get(action="user.created")
    token = ScimToken.objects.get(label="tests")
    assert (event.organization, event.resource_type, event.resource_id) == (org, "User", user_id)
    assert event.actor_token == token and event.actor_user is None
    assert event.actor_label == f"token {token.prefix}"
    assert (event.request_id, event.ip, event.user_agent) == (
        "req-42",
        "127.0.0.1",
        "Okta SCIM Client 1.0",
    )
    assert event.before is None
    assert event.after["userName"] == "audit@x.com"
    assert "s3cret!" not in str(event.after)


@pytest.mark.django_db
def test_each_write_has_its_event(scim):
    user_id = scim.post("Users", USER).json()["id"]
    scim.put(f"Users/{user_id}", {**USER, "displayName": "Audited"})
    scim.patch(
        f"Users/{user_id}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    group_id = scim.post(
        "Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "G", "members": [{"value": user_id}]}
    ).json()["id"]
    scim.patch(
        f"Groups/{group_id}",
        {
            "schemas": [c.PATCH_OP],
            "Operations": [{"op": "remove", "path": "members", "value": [{"value": user_id}]}],
        },
    )
    scim.delete(f"Groups/{group_id}")
    scim.delete(f"Users/{user_id}")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        "token.created",
        "user.created",
        "user.updated",
        "user.updated",
        "user.deactivated",
        "group.created",
        "group.updated",
        "group.deleted",
        "user.deleted",
    ]
    update = AuditEvent.objects.filter(action="user.updated").order_by("id").first()
    assert "displayName" not in update.before and update.after["displayName"] == "Audited"
    members = AuditEvent.objects.get(action="group.updated").after
    assert (members["membersRemoved"], members["membersRemovedCount"]) == ([user_id], 1)


@pytest.mark.django_db
def test_failed_write_leaves_no_event(scim):
    scim.post("Users", USER)
    before = AuditEvent.objects.count()
    assert scim.post("Users", USER).status_code == 409
    assert (
        scim.patch(
            "Users/00000000-0000-0000-0000-000000000000",
            {
                "schemas": [c.PATCH_OP],
                "Operations": [{"op": "replace", "path": "title", "value": "x"}],
            },
        ).status_code
        == 404
    )
    assert AuditEvent.objects.count() == before
