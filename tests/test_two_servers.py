"""Two app servers, one database: nothing is kept per process that should not be.

Two gunicorn servers (two sync workers each) on free ports of 127.0.0.1 serve
the same PostgreSQL test database, as app servers behind a load balancer
would. Eight clients send a mixed write load to both at once (users and groups
created, patched, replaced and deleted, members added to and removed from
shared groups); afterwards the groups hold exactly the members the clients
left, and ``verify_scim_state`` and ``verify_scim_audit`` are clean. Then a
portal admin signs in on one server and works on the other: a custom
attribute declared through one is accepted by the other at once, and a token
revoked through one is refused by the other at once.

The servers share a cache (tests/servers/shared_cache.py), as docs/scaling.md
asks of a deployment. About 15 s on two cores, most of it the servers starting.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from guardian.shortcuts import assign_perm

from axon_scim.models import Organization
from axon_scim.protocol.constants import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA
from axon_scim.services import issue_token

from .conftest import requires_postgresql
from .http import Browser

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
SHARED_GROUPS = 3
PASSWORD = "correct horse battery staple"
# 503 with Retry-After answers a write whose rows kept moving; an IdP retries it.
RETRIES = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Server:
    """One gunicorn master with two sync workers, serving the test database."""

    def __init__(self, cache_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.servers.shared_cache",
            "DATABASE_URL": database_url(),
            "AXON_SHARED_CACHE_DIR": str(cache_dir),
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind"]
        command += [f"127.0.0.1:{self.port}", "--log-level", "warning"]
        self.process = subprocess.Popen([*command, "portal_demo.wsgi:application"], env=env)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited with {self.process.returncode}"
            try:
                if httpx.get(f"{self.base}/scim/v2/ServiceProviderConfig").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the server on port {self.port} did not answer in {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # a quick shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def servers(transactional_db: None, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    (tmp_path / "cache").mkdir()
    pair = (Server(tmp_path / "cache"), Server(tmp_path / "cache"))
    try:
        for server in pair:
            server.wait_ready()
        yield pair
    finally:
        for server in pair:
            server.stop()


def scim_client(server: Server, secret: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}
    return httpx.Client(base_url=f"{server.base}/scim/v2/", headers=headers, timeout=60)


def send(client: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response:
    """One request, retried while the server answers 503 (rows kept moving), as IdPs do."""
    for _ in range(RETRIES):
        response = client.request(method, path, json=body)
        if response.status_code != 503:
            return response
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 1.0))
    return response


def ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in statuses, (response.request.method, response.text)
    return response.json() if response.content else None


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def client_load(
    client: httpx.Client, number: int, shared: list[str]
) -> Callable[[], dict[str, set[str]]]:
    """One client's writes; returns the members it leaves in the shared groups."""

    def run() -> dict[str, set[str]]:
        users = [
            ok(send(client, "POST", "Users", {"schemas": [USER_SCHEMA], "userName": name}), 201)
            for name in (f"c{number}-u{i}@example.com" for i in range(4))
        ]
        ids = [u["id"] for u in users]
        for user in users:
            change = {"op": "replace", "path": "displayName", "value": f"Client {number}"}
            ok(send(client, "PATCH", f"Users/{user['id']}", patch(change)), 200, 204)
        replaced = {"schemas": [USER_SCHEMA], "userName": users[0]["userName"], "title": "Ops"}
        ok(send(client, "PUT", f"Users/{ids[0]}", replaced), 200)
        first, second = shared[number % SHARED_GROUPS], shared[(number + 1) % SHARED_GROUPS]
        members = [{"value": i} for i in ids]
        for group in (first, second):
            add = {"op": "add", "path": "members", "value": members}
            ok(send(client, "PATCH", f"Groups/{group}", patch(add)), 200, 204)
        remove = {"op": "remove", "path": f'members[value eq "{ids[0]}"]'}
        ok(send(client, "PATCH", f"Groups/{first}", patch(remove)), 200, 204)
        own = {"schemas": [GROUP_SCHEMA], "displayName": f"Team {number}", "members": members[:2]}
        group = ok(send(client, "POST", "Groups", own), 201)
        own.update(displayName=f"Team {number} renamed", members=members[1:3])
        ok(send(client, "PUT", f"Groups/{group['id']}", own), 200)
        ok(send(client, "DELETE", f"Groups/{group['id']}"), 204)
        ok(send(client, "DELETE", f"Users/{ids[3]}"), 204)
        return {first: set(ids[1:3]), second: set(ids[:3])}

    return run


def run_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls), timeout=60)

    def start(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(start, call) for call in calls]
        return [future.result(timeout=300) for future in futures]


def verified(command: str) -> str:
    out = StringIO()
    call_command(command, stdout=out)  # raises CommandError when an organization is broken
    return out.getvalue()


@requires_postgresql
def test_two_servers_take_a_mixed_write_load_and_leave_a_consistent_state(
    servers: tuple[Server, Server],
) -> None:
    organization = Organization.objects.create(slug="acme", name="Acme")
    secret = issue_token(organization, label="two servers")[1]
    clients = [scim_client(server, secret) for server in servers]
    shared = []
    for number in range(SHARED_GROUPS):
        body = {"schemas": [GROUP_SCHEMA], "displayName": f"Shared {number}"}
        shared.append(ok(send(clients[0], "POST", "Groups", body), 201)["id"])

    results = run_at_once(
        [client_load(clients[number % 2], number, shared) for number in range(CLIENTS)]
    )

    expected: dict[str, set[str]] = {group: set() for group in shared}
    for left in results:
        for group, members in left.items():
            expected[group] |= members
    for group in shared:
        body = ok(send(clients[1], "GET", f"Groups/{group}"), 200)
        assert {m["value"] for m in body.get("members", [])} == expected[group]
    listed = ok(send(clients[1], "GET", "Users"), 200)
    assert listed["totalResults"] == CLIENTS * 3
    state, audit = verified("verify_scim_state"), verified("verify_scim_audit")
    assert state.startswith("acme: ok:") and "BROKEN" not in state, state
    assert audit.startswith("acme: ok:") and "BROKEN" not in audit, audit


@requires_postgresql
def test_what_one_server_changes_the_other_sees_at_once(servers: tuple[Server, Server]) -> None:
    first, second = servers
    organization = Organization.objects.create(slug="acme", name="Acme")
    admin = get_user_model().objects.create_user("portal-admin", password=PASSWORD, is_staff=True)
    assign_perm("configure_sso", admin, organization)
    secret = issue_token(organization, label="idp")[1]
    scim_first, scim_second = scim_client(first, secret), scim_client(second, secret)
    urn = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
    # The second server has read (and cached) the organization's schema: no custom attribute.
    assert urn not in {s["id"] for s in ok(scim_second.get("Schemas"), 200)["Resources"]}

    # A portal admin signs in on the first server; the session works on the second as well.
    portal = Browser(first.base)
    portal.sign_in("/admin/login/", "portal-admin", PASSWORD, then="/admin/")
    declared = portal.call("POST", "/api/v1/scim/custom-attributes", {"name": "region"})
    assert declared.status == 201, declared.text
    user = {"schemas": [USER_SCHEMA, urn], "userName": "r@example.com", urn: {"region": "EU"}}
    created = ok(send(scim_second, "POST", "Users", user), 201)
    assert created[urn] == {"region": "EU"}
    assert ok(scim_first.get(f"Users/{created['id']}"), 200)[urn] == {"region": "EU"}

    portal.base = second.base
    issued = portal.call("POST", "/api/v1/scim/tokens", {"label": "rotated"})
    assert issued.status == 201, issued.text
    rotated_first = scim_client(first, issued.json()["token"])
    assert rotated_first.get("Users").status_code == 200
    revoked = portal.call("DELETE", f"/api/v1/scim/tokens/{issued.json()['id']}")
    assert revoked.status == 204, revoked.text
    assert rotated_first.get("Users").status_code == 401
    assert scim_client(second, issued.json()["token"]).get("Users").status_code == 401
    assert scim_first.get("Users").status_code == 200  # the other token is untouched
