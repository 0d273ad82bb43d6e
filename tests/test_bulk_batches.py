"""POST /Bulk runs independent user creations in batches: one transaction, a savepoint each.

Each creation of a batch must still apply whole or not at all, with its own
audit event, its own signal and the answer it would get alone; failOnErrors
counts inside a batch; a batch that cannot commit runs again one by one; and a
single POST racing a Bulk on PostgreSQL leaves the audit chain valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from axon_scim import signals
from axon_scim.audit import SYSTEM, audited, record_event, verify_chain
from axon_scim.models import AuditChain, AuditEvent, Organization, ScimUser
from axon_scim.protocol.bulk import BulkOperation, Step
from axon_scim.protocol.schemas import GROUP_RESOURCE, USER_RESOURCE
from axon_scim.views import bulk as bulk_view

from .conftest import ScimClient, provision, requires_postgresql
from .live import LiveScim, live_scim_fixture  # noqa: F401
from .parallel import at_once
from .test_bulk import bulk_body, post_group, post_user, run


def user_body(name: str) -> dict[str, Any]:
    return dict(post_user("", name)["data"])


def created_events(org: Organization) -> list[str]:
    events = AuditEvent.objects.for_tenant(org).filter(action="user.created").order_by("sequence")
    return [event.after["userName"] for event in events]


@pytest.mark.django_db
def test_a_failing_creation_in_a_batch_rolls_back_alone(
    scim: ScimClient, org: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    provision(scim, "taken@example.com")
    provisioned: list[str] = []

    def receive(sender: Any, **arguments: Any) -> None:
        provisioned.append(arguments["scim_user"].user_name)

    signals.user_provisioned.connect(receive, weak=False, dispatch_uid="batches")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            results = run(
                scim,
                post_user("a", "a@example.com"),
                post_user("b", "TAKEN@example.com"),
                post_user("c", "c@example.com", emails=[{"value": "x" * 5000}]),
                post_user("d", "d@example.com"),
            )
    finally:
        signals.user_provisioned.disconnect(dispatch_uid="batches")
    assert [result["status"] for result in results] == ["201", "409", "400", "201"]
    assert results[1]["response"]["scimType"] == "uniqueness"
    names = set(ScimUser.objects.for_tenant(org).values_list("user_name", flat=True))
    assert names == {"taken@example.com", "a@example.com", "d@example.com"}
    assert all(user.account is not None for user in ScimUser.objects.for_tenant(org))
    # One event per creation that applied, none for those that rolled back; the chain holds.
    assert created_events(org) == ["taken@example.com", "a@example.com", "d@example.com"]
    assert provisioned == ["a@example.com", "d@example.com"]
    assert verify_chain(org).ok


@pytest.mark.django_db
def test_a_batch_takes_the_audit_chain_head_once(scim: ScimClient, org: Organization) -> None:
    provision(scim, "first@example.com")  # the chain head exists
    head = AuditChain._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        results = run(scim, *[post_user(f"u{k}", f"u{k}@example.com") for k in range(5)])
    assert [result["status"] for result in results] == ["201"] * 5
    reads = [q["sql"] for q in queries if head in q["sql"] and q["sql"].startswith("SELECT")]
    assert len(reads) == 1, reads  # alone, each creation would take it
    assert len(created_events(org)) == 6 and verify_chain(org).ok


@pytest.mark.django_db
def test_fail_on_errors_counts_inside_a_batch(scim: ScimClient, org: Organization) -> None:
    provision(scim, "taken@example.com")
    results = run(
        scim,
        post_user("a", "a@example.com"),
        post_user("b", "taken@example.com"),
        post_user("c", "c@example.com"),
        post_user("d", "taken@example.com"),
        post_user("e", "e@example.com"),
        failOnErrors=2,
    )
    assert [result["status"] for result in results] == ["201", "409", "201", "409"]
    names = set(ScimUser.objects.for_tenant(org).values_list("user_name", flat=True))
    assert names == {"taken@example.com", "a@example.com", "c@example.com"}
    assert created_events(org) == ["taken@example.com", "a@example.com", "c@example.com"]
    assert verify_chain(org).ok


@pytest.mark.django_db
def test_a_batch_that_cannot_commit_runs_its_operations_again_alone(
    scim: ScimClient, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision(scim, "taken@example.com")
    checks: list[bool] = []

    def aborted_once() -> bool:  # as if the second creation had broken the transaction
        checks.append(len(checks) == 1)
        return checks[-1]

    monkeypatch.setattr(bulk_view, "_aborted", aborted_once)
    results = run(
        scim,
        post_user("a", "a@example.com"),
        post_user("b", "taken@example.com"),
        post_user("c", "c@example.com"),
    )
    assert [result["status"] for result in results] == ["201", "409", "201"]
    assert checks[:2] == [False, True]  # the batch was given up, then ran alone
    assert created_events(org) == ["taken@example.com", "a@example.com", "c@example.com"]
    assert ScimUser.objects.for_tenant(org).count() == 3
    assert verify_chain(org).ok


@pytest.mark.django_db
def test_a_change_rolled_back_inside_another_takes_its_events_with_it(org: Organization) -> None:
    with audited(org):  # a batch: its changes are savepoints, sealed together at its end
        record_event(org, SYSTEM, "test.kept", "Test", "1")
        with pytest.raises(RuntimeError), audited(org):
            record_event(org, SYSTEM, "test.dropped", "Test", "2")
            raise RuntimeError("this change alone rolls back")
        record_event(org, SYSTEM, "test.kept", "Test", "3")
    events = AuditEvent.objects.for_tenant(org).order_by("sequence")
    assert [(event.action, event.resource_id) for event in events] == [
        ("test.kept", "1"),
        ("test.kept", "3"),
    ]
    assert verify_chain(org).ok


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_postgresql_refuses_is_seen_as_aborted() -> None:
    with transaction.atomic():
        assert not bulk_view._aborted()
        with pytest.raises(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")  # no savepoint: the whole transaction is lost
        assert bulk_view._aborted()
        transaction.set_rollback(True)
    assert not bulk_view._aborted()


def operation(index: int, method: str = "POST", **fields: Any) -> BulkOperation:
    fields.setdefault("resource", USER_RESOURCE)
    return BulkOperation(index, method, bulk_id=f"b{index}", **fields)


def test_batches_hold_only_independent_user_creations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_view, "BATCH_SIZE", 2)
    operations = [
        operation(0),
        operation(1),
        operation(2),
        operation(3, references=frozenset({"b0"})),
        operation(4),
        operation(5, resource=GROUP_RESOURCE),
        operation(6, "PATCH"),
        operation(7, version='W/"1"'),
        operation(8),
    ]
    steps = [Step((op,)) for op in operations]
    steps.insert(5, Step((operation(9), operation(10)), cyclic=True))
    units = [
        unit.operations[0].index if isinstance(unit, Step) else [op.index for op in unit]
        for unit in bulk_view._batches(steps)
    ]
    assert units == [[0, 1], [2], [3], [4], 9, [5], [6], [7], [8]]


@pytest.mark.django_db
def test_references_into_a_batch_resolve_after_it(scim: ScimClient, org: Organization) -> None:
    results = run(
        scim,
        post_user("a", "a@example.com"),
        post_user("b", "b@example.com"),
        post_group("g", "Team", "bulkId:a", "bulkId:b"),
    )
    assert [result["status"] for result in results] == ["201", "201", "201"]
    assert verify_chain(org).ok


@requires_postgresql
def test_single_posts_racing_a_bulk_keep_the_chain_valid(live_scim: LiveScim) -> None:
    org = live_scim.organization
    count = 250  # several batches
    body = bulk_body(*[post_user(f"u{k}", f"bulk{k}@example.com") for k in range(count)])

    def bulk() -> Any:
        with live_scim.http() as http:
            return http.post("Bulk", json=body).status_code

    def single(k: int) -> Callable[[], list[int]]:
        def send() -> list[int]:
            with live_scim.http() as http:
                return [
                    http.post("Users", json=user_body(f"single{k}-{i}@example.com")).status_code
                    for i in range(5)
                ]

        return send

    outcomes = at_once([bulk, single(1), single(2)])
    assert outcomes == [200, [201] * 5, [201] * 5], outcomes
    assert ScimUser.objects.for_tenant(org).count() == count + 10
    assert len(created_events(org)) == count + 10
    check = verify_chain(org)
    assert check.ok and check.checked == AuditEvent.objects.for_tenant(org).count(), check
