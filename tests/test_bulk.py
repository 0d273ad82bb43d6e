"""POST /Bulk over HTTP (RFC 7644 section 3.7): references, cycles, failOnErrors, limits, tenancy.

Each operation must behave as the same request sent alone: the same errors,
the same audit event, the same roles, accounts and signals, in its own
transaction. The pure parts (parsing, ordering, the response body) are
tested in ``tests/protocol/test_bulk.py``.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import resolve

from axon_scim import services, signals
from axon_scim.adapter import AccountAdapter
from axon_scim.audit import SYSTEM
from axon_scim.models import AuditEvent, RoleAssignment, ScimGroup, ScimMembership, ScimUser
from axon_scim.protocol import constants as c
from axon_scim.views import BulkView, ScimParser

from .conftest import ScimClient, World, patch_body, provision
from .factories import ScimGroupFactory, ScimUserFactory
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


# --- each operation as the request alone ----------------------------------------------------


@pytest.mark.django_db
def test_version_is_checked_per_operation_as_if_match(scim: ScimClient) -> None:
    ada = provision(scim, "ada@example.com")
    rename = {"op": "replace", "path": "displayName", "value": "Ada"}
    results = run(
        scim,
        patch(f"/Users/{ada}", rename, version='W/"7"'),
        {"method": "DELETE", "path": f"/Users/{ada}", "version": 'W/"7"'},
        patch(f"/Users/{ada}", rename, version='W/"1"'),
        {"method": "PUT", "path": f"/Users/{ada}", "version": 'W/"1"', "data": {"userName": "x"}},
    )
    error_of(results[0], 412)
    error_of(results[1], 412)
    assert results[0]["location"] == f"http://testserver/scim/v2/Users/{ada}"
    assert (results[2]["status"], results[2]["version"]) == ("200", 'W/"2"')
    error_of(results[3], 412)
    user = ScimUser.objects.get(pk=ada)
    assert (user.display_name, user.user_name, user.version) == ("Ada", "ada@example.com", 2)


@pytest.mark.django_db
def test_each_operation_is_its_own_audit_event(scim: ScimClient) -> None:
    results = run(
        scim,
        post_user("a", "a@example.com"),
        post_user("b", "a@example.com"),
        post_group("g", "G", "bulkId:a"),
        patch("/Users/bulkId:a", {"op": "replace", "path": "title", "value": "Boss"}),
        {"method": "DELETE", "path": "/Groups/bulkId:g"},
    )
    a, g = created_id(results[0]), created_id(results[2])
    events = list(scim_events())
    assert [(e.action, e.resource_id) for e in events] == [
        ("user.created", a),
        ("group.created", g),
        ("user.updated", a),
        ("group.deleted", g),
    ]
    assert len({e.request_id for e in events}) == 1
    assert {e.actor_type for e in events} == {"token"}


@pytest.mark.django_db
def test_operations_have_the_effects_of_the_requests_alone(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    services.set_group_role(world.org, SYSTEM, world.group.pk, world.role.pk)
    scim, alice = ScimClient(world.secret), world.members[0]
    provisioned: list[Any] = []

    def receive(sender: Any, **arguments: Any) -> None:
        provisioned.append(arguments["scim_user"].user_name)

    signals.user_provisioned.connect(receive, weak=False, dispatch_uid="bulk")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            results = run(
                scim,
                post_user("new", "new@example.com"),
                patch(
                    f"/Groups/{world.group.pk}",
                    {"op": "add", "path": "members", "value": [{"value": "bulkId:new"}]},
                ),
                patch(f"/Users/{alice.pk}", {"op": "replace", "path": "active", "value": "False"}),
            )
    finally:
        signals.user_provisioned.disconnect(dispatch_uid="bulk")
    assert [result["status"] for result in results] == ["201", "200", "200"]
    new = ScimUser.objects.get(pk=created_id(results[0]))
    assert RoleAssignment.objects.filter(account=new.account, role=world.role).exists()
    alice.account.refresh_from_db()
    assert alice.account.is_active is False
    assert not RoleAssignment.objects.filter(account=alice.account).exists()
    assert provisioned == ["new@example.com"]


@pytest.mark.django_db
def test_an_operation_applies_fully_or_not_at_all(scim: ScimClient, org: Any) -> None:
    ada = provision(scim, "ada@example.com")
    foreign = ScimUserFactory()
    before = snapshot()
    results = run(
        scim,
        patch(
            f"/Users/{ada}",
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "nosuchattribute.x", "value": 1},
        ),
        post_group("g", "G", ada, str(foreign.pk)),
        post_user("long", "x" * 1000),
    )
    error_of(results[0], 400, "invalidPath")
    error_of(results[1], 400, "invalidValue")
    error_of(results[2], 400, "invalidValue")
    assert snapshot() == before


class ExplodingAdapter(AccountAdapter):
    """Raises while creating the account of ``boom@example.com``, after the user row is written."""

    def create_account(self, scim_user: Any, **kwargs: Any) -> Any:
        if scim_user.user_name == "boom@example.com":
            raise RuntimeError("adapter exploded: /srv/portal/secrets.py")
        return super().create_account(scim_user, **kwargs)


@pytest.mark.django_db
def test_an_unexpected_failure_is_a_500_of_that_operation_only(
    scim: ScimClient, settings: Any, caplog: Any
) -> None:
    settings.AXON_SCIM = {"ADAPTER": f"{__name__}.ExplodingAdapter"}
    results = run(scim, post_user("boom", "boom@example.com"), post_user("ok", "ok@example.com"))
    detail = error_of(results[0], 500)
    assert detail == "An internal error occurred. It has been logged."
    assert "exploded" not in json.dumps(results)
    assert "adapter exploded" in caplog.text
    assert list(ScimUser.objects.values_list("user_name", flat=True)) == ["ok@example.com"]
    assert scim_events().count() == 1


@pytest.mark.django_db
def test_each_operation_has_the_limits_of_the_request_alone(
    scim: ScimClient, settings: Any
) -> None:
    settings.AXON_SCIM = {
        "MAX_PATCH_COST": 2,
        "MAX_MEMBERS_PER_WRITE": 1,
        "MAX_PATCH_OPERATIONS": 2,
    }
    ada, bob = provision(scim, "ada@example.com"), provision(scim, "bob@example.com")
    group = ScimGroupFactory(organization=ScimUser.objects.get(pk=ada).organization)
    add = {"op": "add", "path": "members", "value": [{"value": ada}, {"value": bob}]}
    results = run(
        scim,
        patch(
            f"/Groups/{group.pk}",
            add,
            {"op": "remove", "path": "members", "value": [{"value": ada}]},
        ),
        patch(f"/Groups/{group.pk}", *[{"op": "add", "path": "members", "value": ada}] * 3),
        post_group("big", "Big", ada, bob),
        patch(f"/Groups/{group.pk}", add),
    )
    assert "cost" in error_of(results[0], 400, "tooMany")
    assert "at most 2 operations" in error_of(results[1], 400, "tooMany")
    assert "at most 1" in error_of(results[2], 400, "tooMany")
    assert results[3]["status"] == "200"


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


# --- limits -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_more_operations_than_max_operations_is_413(scim: ScimClient, settings: Any) -> None:
    settings.AXON_SCIM = {"BULK_MAX_OPERATIONS": 2}
    assert len(run(scim, post_user("a", "a@x.com"), post_user("b", "b@x.com"))) == 2
    three = bulk_body(*[post_user(f"u{i}", f"u{i}@y.com") for i in range(3)])
    body = assert_error(scim.post("Bulk", three), 413)
    assert "at most 2 (maxOperations)" in body["detail"]
    assert ScimUser.objects.count() == 2


@pytest.mark.django_db
def test_a_body_over_max_payload_size_is_413_whatever_max_request_bytes(
    scim: ScimClient, settings: Any
) -> None:
    operations = [post_user(f"u{i}", f"u{i}@example.com") for i in range(5)]
    size = len(json.dumps(bulk_body(*operations)))
    settings.AXON_SCIM = {"BULK_MAX_PAYLOAD_BYTES": size - 1, "MAX_REQUEST_BYTES": 10 * size}
    body = assert_error(scim.post("Bulk", bulk_body(*operations)), 413)
    assert str(size - 1) in body["detail"]
    settings.AXON_SCIM = {"BULK_MAX_PAYLOAD_BYTES": size, "MAX_REQUEST_BYTES": 100}
    assert len(run(scim, *operations)) == 5  # the Bulk limit, not MAX_REQUEST_BYTES
    assert_error(scim.post("Users", post_user("x", "x@example.com", title="t" * 100)["data"]), 413)
    assert ScimUser.objects.count() == 5


@pytest.mark.django_db
def test_the_parser_reads_no_more_than_the_bulk_limit_without_a_content_length(
    settings: Any,
) -> None:
    settings.AXON_SCIM = {"BULK_MAX_PAYLOAD_BYTES": 20, "MAX_REQUEST_BYTES": 10}
    parser, view = ScimParser(), BulkView()
    assert parser.parse(io.BytesIO(b'{"a": "0123456789"}'), c.MEDIA_TYPE, {"view": view})
    with pytest.raises(Exception, match="exceeds 20 bytes"):
        parser.parse(io.BytesIO(b'{"a": "012345678901"}'), c.MEDIA_TYPE, {"view": view})


@pytest.mark.django_db
def test_the_service_provider_config_advertises_bulk_from_the_settings(
    anonymous_scim: ScimClient, settings: Any
) -> None:
    settings.AXON_SCIM = {"BULK_MAX_OPERATIONS": 50, "BULK_MAX_PAYLOAD_BYTES": 65536}
    config = anonymous_scim.get("ServiceProviderConfig").json()
    assert config["bulk"] == {"supported": True, "maxOperations": 50, "maxPayloadSize": 65536}


def test_the_bulk_view_is_exempt_from_atomic_requests() -> None:
    view = resolve("/scim/v2/Bulk").func
    assert "default" in view._non_atomic_requests  # type: ignore[attr-defined]


# --- tenancy ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_organizations_resources_fail_as_they_would_alone(world: World) -> None:
    scim = ScimClient(world.secret)
    foreign_user = ScimUserFactory(organization=world.other_org)
    foreign_group = world.foreign_group
    before = snapshot()
    results = run(
        scim,
        patch(
            f"/Groups/{foreign_group.pk}", {"op": "replace", "path": "displayName", "value": "x"}
        ),
        {"method": "DELETE", "path": f"/Users/{foreign_user.pk}"},
        {"method": "PUT", "path": f"/Users/{foreign_user.pk}", "data": {"userName": "x"}},
        patch(
            f"/Groups/{world.group.pk}",
            {"op": "add", "path": "members", "value": str(foreign_user.pk)},
        ),
        post_group("g", "G", str(foreign_user.pk)),
        post_user("u", "u@example.com", **{MANAGER: str(foreign_user.pk)}),
    )
    assert [result["status"] for result in results] == ["404", "404", "404", "400", "400", "400"]
    for result in results[3:]:
        error_of(result, 400, "invalidValue")
    assert snapshot() == before
    foreign_group.refresh_from_db()
    assert foreign_group.display_name != "x"
