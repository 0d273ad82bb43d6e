"""POST /Bulk over HTTP (RFC 7644 section 3.7): bulkId references, order, cycles, failOnErrors.

That each operation behaves as the same request sent alone (If-Match, audit,
effects, limits, tenancy) is tested in ``test_bulk_operations.py``, with the
helpers of this module; the pure parts (parsing, ordering, the response body)
in ``tests/protocol/test_bulk.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from axon_scim.models import AuditEvent, ScimGroup, ScimMembership, ScimUser
from axon_scim.protocol import constants as c

from .conftest import ScimClient, patch_body
from .factories import ScimGroupFactory
from .test_errors import assert_error

MANAGER = f"{c.ENTERPRISE_USER_SCHEMA}:manager"


def bulk_body(*operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [c.BULK_REQUEST], "Operations": list(operations), **extra}


def run(scim: ScimClient, *operations: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    """Send a Bulk; return its results, after checking the envelope."""
    response = scim.post("Bulk", bulk_body(*operations, **extra))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == c.MEDIA_TYPE
    body = response.json()
    assert body["schemas"] == [c.BULK_RESPONSE]
    return list(body["Operations"])


def post_user(bulk_id: str, name: str, **data: Any) -> dict[str, Any]:
    body = {"schemas": [c.USER_SCHEMA], "userName": name, **data}
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": body}


def post_group(bulk_id: str, name: str, *members: str, **data: Any) -> dict[str, Any]:
    body = {"displayName": name, "members": [{"value": m} for m in members], **data}
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": body}


def patch(path: str, *operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"method": "PATCH", "path": path, "data": patch_body(*operations), **extra}


def created_id(result: dict[str, Any]) -> str:
    assert result["status"] == "201", result
    return str(result["location"].rsplit("/", 1)[1])


def error_of(result: dict[str, Any], status: int, scim_type: str | None = None) -> str:
    """Check a failed result's status and error body; return its detail."""
    assert result["status"] == str(status), result
    response = result["response"]
    assert response["schemas"] == [c.ERROR] and response["status"] == str(status)
    assert response.get("scimType") == scim_type
    return str(response["detail"])


def snapshot() -> tuple[Any, ...]:
    """Everything an operation that fails must leave as it was."""
    return (
        sorted(ScimUser.objects.values_list("pk", "version", "manager_id")),
        sorted(ScimGroup.objects.values_list("pk", "version", "display_name")),
        sorted(ScimMembership.objects.values_list("group_id", "user_id", "member_group_id")),
        get_user_model().objects.count(),
        AuditEvent.objects.count(),
    )


def scim_events() -> Any:
    """The audit events SCIM requests wrote (not the token's creation), in order."""
    return AuditEvent.objects.filter(actor_type="token").order_by("sequence")


def group_members(group_id: str) -> set[str]:
    rows = ScimMembership.objects.filter(group_id=group_id)
    return {str(u or g) for u, g in rows.values_list("user_id", "member_group_id")}


# --- the request and its answer -----------------------------------------------------------


@pytest.mark.django_db
def test_a_group_listed_before_its_members_gets_them(scim: ScimClient) -> None:
    results = run(
        scim,
        post_group("staff", "Staff", "bulkId:ada", "bulkId:bob"),
        post_user("ada", "ada@example.com"),
        post_user("bob", "bob@example.com", **{MANAGER: "bulkId:ada"}),
    )
    staff, ada, bob = (created_id(result) for result in results)
    assert results == [
        {
            "method": "POST",
            "bulkId": "staff",
            "location": f"http://testserver/scim/v2/Groups/{staff}",
            "version": 'W/"1"',
            "status": "201",
        },
        {
            "method": "POST",
            "bulkId": "ada",
            "location": f"http://testserver/scim/v2/Users/{ada}",
            "version": 'W/"1"',
            "status": "201",
        },
        {
            "method": "POST",
            "bulkId": "bob",
            "location": f"http://testserver/scim/v2/Users/{bob}",
            "version": 'W/"1"',
            "status": "201",
        },
    ]
    assert group_members(staff) == {ada, bob}
    assert str(ScimUser.objects.get(pk=bob).manager_id) == ada
    read = scim.get(f"Users/{bob}").json()
    assert read[c.ENTERPRISE_USER_SCHEMA]["manager"]["value"] == ada
    assert read["meta"]["version"] == 'W/"2"'  # joining Staff after its creation changed groups


@pytest.mark.django_db
def test_operations_run_after_what_they_reference_else_in_the_requests_order(
    scim: ScimClient,
) -> None:
    """The README's example: bob, then ada (bob's report), then Engineering, then the PATCH."""
    results = run(
        scim,
        post_group("eng", "Engineering", "bulkId:ada"),
        post_user("ada", "ada@example.com", **{MANAGER: "bulkId:bob"}),
        post_user("bob", "bob@example.com"),
        patch("/Users/bulkId:bob", {"op": "replace", "path": "title", "value": "CTO"}),
    )
    assert [(r["status"], r["version"]) for r in results] == [
        ("201", 'W/"1"'),
        ("201", 'W/"1"'),
        ("201", 'W/"1"'),
        ("200", 'W/"2"'),
    ]
    eng, ada, bob = (created_id(result) for result in results[:3])
    assert list(scim_events().values_list("action", "resource_id")) == [
        ("user.created", bob),
        ("user.created", ada),
        ("group.created", eng),
        ("user.updated", bob),
    ]


@pytest.mark.django_db
def test_references_work_in_paths_members_and_the_manager_in_every_spelling(
    scim: ScimClient,
) -> None:
    results = run(
        scim,
        {"method": "DELETE", "path": "/Users/bulkId:gone"},
        patch("/Groups/bulkId:team", {"op": "add", "path": "members", "value": "bulkId:cy"}),
        {
            "method": "PUT",
            "path": "/Users/bulkId:cy",
            "data": {
                "userName": "cy@example.com",
                c.ENTERPRISE_USER_SCHEMA: {"manager": {"value": "bulkId:di"}},
            },
        },
        post_user("di", "di@example.com"),
        post_user(
            "cy",
            "cy@example.com",
            **{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "bulkId:di"},
        ),
        post_group("team", "Team"),
        post_user("gone", "gone@example.com"),
    )
    assert [result["status"] for result in results] == [
        "204",
        "200",
        "200",
        "201",
        "201",
        "201",
        "201",
    ]
    di, cy, team = created_id(results[3]), created_id(results[4]), created_id(results[5])
    assert results[1]["location"].endswith(f"/Groups/{team}")
    assert results[1]["version"] == 'W/"2"'
    assert results[2]["location"].endswith(f"/Users/{cy}")
    assert group_members(team) == {cy}
    assert str(ScimUser.objects.get(pk=cy).manager_id) == di
    assert not ScimUser.objects.filter(user_name="gone@example.com").exists()


@pytest.mark.django_db
def test_two_groups_that_contain_each_other_are_created_then_linked(scim: ScimClient) -> None:
    results = run(
        scim,
        post_group("a", "A", "bulkId:b"),
        post_group("b", "B", "bulkId:a"),
    )
    a, b = created_id(results[0]), created_id(results[1])
    assert group_members(a) == {b} and group_members(b) == {a}
    # a was created without b, then b was added: its version is the second.
    assert [result["version"] for result in results] == ['W/"2"', 'W/"1"']
    actions = scim_events().values_list("action", "resource_id")
    assert list(actions) == [("group.created", a), ("group.created", b), ("group.updated", a)]


@pytest.mark.django_db
def test_users_who_manage_each_other_are_created_then_linked(scim: ScimClient) -> None:
    results = run(
        scim,
        post_user("a", "a@example.com", **{MANAGER: "bulkId:b"}),
        post_user("b", "b@example.com", **{MANAGER: {"value": "bulkId:a"}}),
    )
    a, b = created_id(results[0]), created_id(results[1])
    managers = dict(ScimUser.objects.values_list("pk", "manager_id"))
    assert (str(managers[uuid.UUID(a)]), str(managers[uuid.UUID(b)])) == (b, a)
    assert scim.get(f"Users/{a}").json()["meta"]["version"] == results[0]["version"] == 'W/"2"'


@pytest.mark.django_db
def test_a_cycle_that_cannot_be_broken_is_409_and_creates_nothing(scim: ScimClient) -> None:
    before = snapshot()
    results = run(
        scim,
        post_user("a", "a@example.com", externalId="bulkId:b"),
        post_user("b", "b@example.com", externalId="bulkId:a"),
        post_user("c", "c@example.com"),
    )
    for result in results[:2]:
        assert "cycle that cannot be broken" in error_of(result, 409, "invalidValue")
        assert "location" not in result
    created_id(results[2])
    assert ScimUser.objects.count() == len(before[0]) + 1


@pytest.mark.django_db
def test_when_one_operation_of_a_cycle_fails_the_whole_cycle_is_rolled_back(
    scim: ScimClient, org: Any
) -> None:
    ScimGroupFactory(organization=org, display_name="Taken")
    before = snapshot()
    results = run(
        scim,
        post_group("a", "A", "bulkId:b"),
        post_group("b", "Taken", "bulkId:a"),
    )
    assert "rolled back with the cycle" in error_of(results[0], 409, "invalidValue").lower()
    assert "Taken" in error_of(results[1], 409, "uniqueness")
    assert snapshot() == before


@pytest.mark.django_db
def test_a_group_in_a_cycle_with_itself_fails_as_it_would_alone(scim: ScimClient) -> None:
    before = snapshot()
    (result,) = run(scim, post_group("g", "G", "bulkId:g"))
    assert "member of itself" in error_of(result, 400, "invalidValue")
    assert snapshot() == before


@pytest.mark.django_db
def test_a_reference_to_no_operation_or_to_one_that_failed_is_409(scim: ScimClient) -> None:
    results = run(
        scim,
        post_user("bad", "not valid", emails="x@example.com", active="maybe"),
        post_group("g", "G", "bulkId:bad"),
        post_group("h", "H", "bulkId:nobody"),
        {"method": "DELETE", "path": "/Groups/bulkId:nobody"},
    )
    error_of(results[0], 400, "invalidValue")
    assert "failed" in error_of(results[1], 409, "invalidValue")
    assert "no POST" in error_of(results[2], 409, "invalidValue")
    assert "no POST" in error_of(results[3], 409, "invalidValue")
    assert results[3]["location"] == "http://testserver/scim/v2/Groups/bulkId:nobody"
    assert not ScimGroup.objects.exists()


@pytest.mark.django_db
def test_a_reference_in_a_patch_paths_value_filter_is_resolved(scim: ScimClient) -> None:
    # members[value eq "bulkId:x"] names a resource id: left as it was, the remove matched
    # nothing and answered 200 without removing the member.
    remove = {"op": "remove", "path": 'members[value eq "bulkId:ada"]'}
    results = run(
        scim,
        patch("/Groups/bulkId:eng", remove),
        post_group("eng", "Engineering", "bulkId:ada", "bulkId:bob"),
        post_user("ada", "ada@example.com"),
        post_user("bob", "bob@example.com"),
        patch("/Groups/bulkId:eng", {"op": "remove", "path": 'members[value eq "bulkId:nobody"]'}),
    )
    group, bob = created_id(results[1]), created_id(results[3])
    assert results[0]["status"] == "200", results[0]
    assert group_members(group) == {bob}
    assert "no POST" in error_of(results[4], 409, "invalidValue")


# --- failOnErrors -------------------------------------------------------------------------


@pytest.mark.django_db
def test_fail_on_errors_stops_after_that_many_errors_and_reports_only_what_ran(
    scim: ScimClient,
) -> None:
    results = run(
        scim,
        post_user("a", "a@example.com"),
        post_user("dup", "a@example.com"),
        post_user("b", "b@example.com"),
        {"method": "DELETE", "path": f"/Users/{uuid.uuid4()}"},
        post_user("c", "c@example.com"),
        failOnErrors=2,
    )
    assert [(r["bulkId"] if "bulkId" in r else r["method"], r["status"]) for r in results] == [
        ("a", "201"),
        ("dup", "409"),
        ("b", "201"),
        ("DELETE", "404"),
    ]
    assert set(ScimUser.objects.values_list("user_name", flat=True)) == {
        "a@example.com",
        "b@example.com",
    }


@pytest.mark.django_db
def test_without_fail_on_errors_every_operation_runs(scim: ScimClient) -> None:
    results = run(
        scim,
        post_user("a", "a@example.com"),
        post_user("b", "a@example.com"),
        post_user("c", "c@example.com"),
    )
    assert [result["status"] for result in results] == ["201", "409", "201"]


@pytest.mark.django_db
def test_fail_on_errors_counts_a_failed_cycle_once_per_operation(scim: ScimClient) -> None:
    results = run(
        scim,
        post_user("a", "a@example.com", externalId="bulkId:b"),
        post_user("b", "b@example.com", externalId="bulkId:a"),
        post_user("c", "c@example.com"),
        failOnErrors=1,
    )
    assert [result["status"] for result in results] == ["409"]


# --- malformed requests and operations ------------------------------------------------------


@pytest.mark.django_db
def test_malformed_operations_fail_alone(scim: ScimClient) -> None:
    results = run(
        scim,
        {"method": "GET", "path": "/Users"},
        {"method": "POST", "path": "/Users", "data": {"userName": "x@example.com"}},
        {"method": "DELETE", "path": "/Schemas/x"},
        post_user("a", "a@example.com"),
        post_user("a", "b@example.com"),
        "not an operation",
    )
    assert "'method'" in error_of(results[0], 400, "invalidValue")
    assert "bulkId" in error_of(results[1], 400, "invalidValue")
    assert "'path'" in error_of(results[2], 400, "invalidPath")
    created_id(results[3])
    assert "already used" in error_of(results[4], 400, "invalidValue")
    assert results[5] == {
        "status": "400",
        "response": {
            "schemas": [c.ERROR],
            "status": "400",
            "scimType": "invalidSyntax",
            "detail": "An operation must be a JSON object.",
        },
    }


@pytest.mark.django_db
def test_a_body_that_is_no_bulk_request_is_400_and_runs_nothing(scim: ScimClient) -> None:
    assert_error(scim.post("Bulk", {"Operations": [post_user("a", "a")]}), 400, "invalidSyntax")
    assert_error(scim.post("Bulk", bulk_body(failOnErrors=0)), 400, "invalidValue")
    assert_error(scim.post("Bulk", "[]"), 400, "invalidSyntax")
    assert_error(scim.get("Bulk"), 405)
    assert not ScimUser.objects.exists()
    assert run(scim) == []
