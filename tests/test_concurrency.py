"""Parallel HTTP requests against a live server on PostgreSQL: nothing lost, nothing doubled.

Each test fires real requests from several threads at once (each thread with
its own connection, released together by a barrier) at a live server that
serves every request on its own thread and database connection. The outcomes
are what DESIGN.md's "Writes" section promises: a group's row lock serializes
member PATCHes, the unique constraint arbitrates concurrent POSTs of one
userName, and If-Match lets exactly one writer win per version (RFC 7644
section 3.14). SQLite cannot run writers in parallel, so these tests skip there.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from axon_scim.models import AuditEvent, ScimGroup, ScimMembership, ScimUser
from axon_scim.protocol import constants as c

from .conftest import patch_body, requires_postgresql
from .live import REQUEST_TIMEOUT, LiveScim, live_scim_fixture  # noqa: F401

pytestmark = pytest.mark.live

T = TypeVar("T")

#: Seconds the whole burst may take; a deadlock fails the test instead of hanging it.
BURST_TIMEOUT = 4 * REQUEST_TIMEOUT


def in_parallel(server: LiveScim, calls: list[Callable[[httpx.Client], T]]) -> list[T]:
    """Run each call on its own thread and connection, all released at the same moment."""
    barrier = threading.Barrier(len(calls), timeout=REQUEST_TIMEOUT)

    def run(call: Callable[[httpx.Client], T]) -> T:
        with server.http() as http:
            # Open the connection first so the burst is not spread out by TCP handshakes.
            assert http.get("ServiceProviderConfig").status_code == 200
            barrier.wait()
            return call(http)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=BURST_TIMEOUT) for future in futures]


def create(http: httpx.Client, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(endpoint, json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@requires_postgresql
def test_parallel_member_patches_lose_nothing(live_scim: LiveScim) -> None:
    """20 PATCHes, each adding another member to one group, all land (RFC 7644 section 3.5.2.1)."""
    with live_scim.http() as http:
        users = [
            create(http, "Users", {"schemas": [c.USER_SCHEMA], "userName": f"member{i}@x.com"})
            for i in range(20)
        ]
        group = create(http, "Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "Crowd"})

    def add(user_id: str) -> Callable[[httpx.Client], httpx.Response]:
        body = patch_body({"op": "add", "path": "members", "value": [{"value": user_id}]})
        return lambda http: http.patch(f"Groups/{group['id']}", json=body)

    responses = in_parallel(live_scim, [add(user["id"]) for user in users])

    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    expected = {user["id"] for user in users}
    stored = ScimMembership.objects.filter(group_id=group["id"]).values_list("user_id", flat=True)
    assert {str(pk) for pk in stored} == expected
    assert ScimGroup.objects.get(pk=group["id"]).version == 1 + 20
    # Every PATCH answered its own version: the row lock serialized them one by one.
    versions = sorted(r.json()["meta"]["version"] for r in responses)
    assert versions == sorted(f'W/"{n}"' for n in range(2, 22))
    assert AuditEvent.objects.filter(action="group.updated", resource_id=group["id"]).count() == 20
    with live_scim.http() as http:
        final = http.get(f"Groups/{group['id']}").json()
    assert {m["value"] for m in final["members"]} == expected
    assert final["meta"]["version"] == 'W/"21"'


@requires_postgresql
def test_parallel_creates_of_one_user_name_give_one_user(live_scim: LiveScim) -> None:
    """10 POSTs of one userName: one 201 and nine 409 uniqueness (RFC 7644 section 3.3)."""
    body = {"schemas": [c.USER_SCHEMA], "userName": "race@example.com", "displayName": "Race"}

    responses = in_parallel(live_scim, [lambda http: http.post("Users", json=body)] * 10)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 9}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            error = response.json()
            assert error["schemas"] == [c.ERROR]
            assert (error["status"], error["scimType"]) == ("409", "uniqueness"), error
    rows = ScimUser.objects.filter(organization=live_scim.organization)
    assert list(rows.values_list("user_name", flat=True)) == ["race@example.com"]
    created = next(r.json() for r in responses if r.status_code == 201)
    assert str(rows.get().pk) == created["id"]
    assert AuditEvent.objects.filter(action="user.created").count() == 1


@requires_postgresql
def test_if_match_lets_one_writer_win_per_version(live_scim: LiveScim) -> None:
    """Concurrent PATCHes with one If-Match: one 200, the rest 412 (RFC 7644 section 3.14)."""
    with live_scim.http() as http:
        user = create(http, "Users", {"schemas": [c.USER_SCHEMA], "userName": "contested"})
    writers, rounds = 8, 3

    for round_number in range(rounds):
        version = f'W/"{1 + round_number}"'

        def rename(
            writer: int, version: str = version, round_number: int = round_number
        ) -> Callable[[httpx.Client], httpx.Response]:
            # A name no round used before: a PATCH that repeats the current value is a
            # no-op (200, version unchanged), which would let a second writer through.
            name = f"R{round_number}W{writer}"
            body = patch_body({"op": "replace", "path": "displayName", "value": name})
            return lambda http: http.patch(
                f"Users/{user['id']}", json=body, headers={"If-Match": version}
            )

        responses = in_parallel(live_scim, [rename(writer) for writer in range(writers)])

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: 1, 412: writers - 1}, [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200)
        assert winner.headers["ETag"] == f'W/"{2 + round_number}"'
        for response in responses:
            if response.status_code == 412:
                error = response.json()
                assert error["schemas"] == [c.ERROR] and error["status"] == "412", error
        stored = ScimUser.objects.get(pk=user["id"])
        assert stored.version == 2 + round_number
        assert stored.display_name == winner.json()["displayName"]
