"""A storm on PostgreSQL: 16 clients for a bounded time over a small shared pool, then every check.

    STORM_SECONDS=300 STORM_SEED=1234 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        make test PYTEST_ARGS=tests/test_storm.py

Sixteen client threads, each on its own HTTP connection to a live server
(one thread and database connection per request), run a randomized
workload over 10 users and 4 groups for ``STORM_SECONDS`` (default 20):
member add and remove PATCHes (re-adding members and removing non-members
included), activation flips, PUTs of users (half with ``If-Match``), DELETEs
and re-provisioning, mapping set, clear and swap through
``services.set_group_role``, and token revocation, after which every client
moves to the next token. Each client draws from its own stream seeded from
``STORM_SEED`` (printed, and random when unset), so a seed replays the same
requests per client; the interleaving is the database's.

Requests may get 400 (a member deleted meanwhile), 404, 409 (provisioning
a userName that exists) and 412 (a stale ``If-Match``), and 401 only with a
revoked token; never a 5xx. A request sent after its token's revocation
returned must get 401. Afterwards:

- ``verify_scim_state`` and ``verify_scim_audit`` are clean;
- the audit log has one event per change that happened and none claiming a
  change that did not (``tests.audit_replay``): replaying each group's
  ``membersAdded``/``membersRemoved`` in sequence order, every id claimed
  added was not a member and every id claimed removed was one, and the
  replay ends at the final members; a group's version is 1 plus its events
  that claim a change, a user's 1 plus its ``user.updated`` events whose
  snapshots differ plus the group events that claim it added or removed;
  every step of ``active`` has its ``user.deactivated``/``user.reactivated``
  event; role grants and revocations alternate and end as the holdings;
  mapping events chain from one role to the next.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from axon_scim import services
from axon_scim.audit import Actor
from axon_scim.models import ScimToken, ScimUser
from axon_scim.protocol import constants as c

from .audit_replay import audit_problems
from .conftest import patch_body, requires_postgresql
from .factories import make_role
from .live import LiveScim, live_scim_fixture  # noqa: F401
from .parallel import closing_connection

pytestmark = pytest.mark.live

CLIENTS = 16
USERS, GROUPS, SPARE_TOKENS = 10, 4, 12
ANCHORS = 2  # users never deleted; the first holds a role by hand
ACTOR = Actor(label="storm")
# What each request may answer besides 401 (checked against revocations on its own).
ALLOWED: dict[str, set[int]] = {
    "read": {200, 404},
    "add": {200, 400},
    "remove": {200},
    "activate": {200, 404},
    "put": {200, 404, 412},
    "delete": {204, 404},
    "provision": {201, 409},
}


@dataclass
class Sent:
    """One request as a client saw it."""

    op: str
    status: int | str  # a str is an exception or a server error's body
    token: int
    started: float


class Tokens:
    """Bearer tokens in order of use: revoking the current one moves every client to the next."""

    def __init__(self, tokens: list[tuple[ScimToken | None, str]]) -> None:
        self.tokens = tokens
        self.index = 0
        self.revoked_at: dict[int, float] = {}
        self.lock = threading.Lock()

    def current(self) -> tuple[int, str]:
        with self.lock:
            return self.index, self.tokens[self.index][1]

    def revoke(self) -> None:
        with self.lock:
            token = self.tokens[self.index][0]
            if token is None or self.index == len(self.tokens) - 1:
                return
            services.revoke_token(token, ACTOR)
            self.revoked_at[self.index] = time.monotonic()
            self.index += 1


@dataclass
class Pool:
    """The shared users (slot -> id, None while deleted), groups and roles."""

    users: dict[int, str | None]
    groups: list[str]
    roles: list[int]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def user(self, rng: random.Random, *, anchors: bool = True) -> tuple[int, str | None]:
        slot = rng.randrange(0 if anchors else ANCHORS, USERS)
        with self.lock:
            return slot, self.users[slot]

    def some_users(self, rng: random.Random) -> list[str]:
        with self.lock:
            ids = [pk for pk in self.users.values() if pk is not None]
        return rng.sample(ids, min(len(ids), rng.randint(1, 3)))

    def settle(self, slot: int, old: str | None, new: str | None) -> None:
        """Record a deletion (new None) or a provisioning (old None) of ``slot``."""
        with self.lock:
            if self.users[slot] == old:
                self.users[slot] = new


def user_name(slot: int) -> str:
    return f"storm{slot}@example.com"


@dataclass
class Client:
    """One of the clients: its random stream, its connection and what it sent."""

    rng: random.Random
    http: httpx.Client
    pool: Pool
    tokens: Tokens
    organization: Any
    sent: list[Sent] = field(default_factory=list)

    def send(
        self, op: str, method: str, path: str, body: Any = None, **headers: str
    ) -> httpx.Response:
        """Send one request; after a 401 with a revoked token, once more with the current one."""
        for _attempt in range(2):
            index, secret = self.tokens.current()
            started = time.monotonic()
            response = self.http.request(
                method, path, json=body, headers={"Authorization": f"Bearer {secret}", **headers}
            )
            status = response.status_code
            shown: int | str = status if status < 500 else f"{status} {response.text[:300]}"
            self.sent.append(Sent(op, shown, index, started))
            if status != 401:
                break
        return response

    def run(self, deadline: float) -> None:
        operations, weights = zip(*OPERATIONS, strict=True)
        while time.monotonic() < deadline:
            self.rng.choices(operations, weights)[0](self)


def add_members(client: Client) -> None:
    value = [{"value": pk} for pk in client.pool.some_users(client.rng)]
    body = patch_body({"op": "add", "path": "members", "value": value})
    client.send("add", "PATCH", f"Groups/{client.rng.choice(client.pool.groups)}", body)


def remove_members(client: Client) -> None:
    ids = client.pool.some_users(client.rng)
    if client.rng.random() < 0.5:
        body = patch_body({"op": "remove", "path": "members", "value": [{"value": i} for i in ids]})
    else:
        body = patch_body({"op": "remove", "path": f'members[value eq "{ids[0]}"]'})
    client.send("remove", "PATCH", f"Groups/{client.rng.choice(client.pool.groups)}", body)


def flip_active(client: Client) -> None:
    _slot, user_id = client.pool.user(client.rng)
    body = patch_body({"op": "replace", "path": "active", "value": client.rng.random() < 0.5})
    client.send("activate", "PATCH", f"Users/{user_id}", body)


def put_user(client: Client) -> None:
    slot, user_id = client.pool.user(client.rng)
    body: dict[str, Any] = {
        "schemas": [c.USER_SCHEMA],
        "userName": user_name(slot),
        "displayName": client.rng.choice(["Ann", "Bo", "Cy"]),
    }
    if client.rng.random() < 0.3:
        body["active"] = client.rng.random() < 0.5
    headers = {}
    if client.rng.random() < 0.5:  # If-Match: the version of a read a moment ago
        read = client.send("read", "GET", f"Users/{user_id}")
        if read.status_code != 200:
            return
        headers["If-Match"] = read.headers["ETag"]
    client.send("put", "PUT", f"Users/{user_id}", body, **headers)


def delete_user(client: Client) -> None:
    slot, user_id = client.pool.user(client.rng, anchors=False)
    if client.send("delete", "DELETE", f"Users/{user_id}").status_code == 204:
        client.pool.settle(slot, user_id, None)


def provision(client: Client) -> None:
    slot, user_id = client.pool.user(client.rng)
    body = {"schemas": [c.USER_SCHEMA], "userName": user_name(slot)}
    response = client.send("provision", "POST", "Users", body)
    if response.status_code == 201:
        client.pool.settle(slot, user_id, str(response.json()["id"]))


def map_group(client: Client) -> None:
    role = client.rng.choice([None, *client.pool.roles])
    group = client.rng.choice(client.pool.groups)
    try:
        services.set_group_role(client.organization, ACTOR, group, role)
        client.sent.append(Sent("map", 200, -1, time.monotonic()))
    except Exception as exc:  # a deadlock or any other failure is a finding
        client.sent.append(Sent("map", repr(exc), -1, time.monotonic()))


def revoke_token(client: Client) -> None:
    try:
        client.tokens.revoke()
    except Exception as exc:  # a deadlock or any other failure is a finding
        client.sent.append(Sent("revoke", repr(exc), -1, time.monotonic()))


OPERATIONS: list[tuple[Callable[[Client], None], int]] = [
    (add_members, 25),
    (remove_members, 20),
    (flip_active, 20),
    (put_user, 10),
    (delete_user, 4),
    (provision, 6),
    (map_group, 8),
    (revoke_token, 1),
]


def set_up(server: LiveScim) -> tuple[Pool, Tokens]:
    """Users and empty groups through SCIM; two roles, two mappings and a grant by hand."""
    organization = server.organization
    with server.http() as http:
        users = {
            slot: http.post(
                "Users", json={"schemas": [c.USER_SCHEMA], "userName": user_name(slot)}
            ).json()["id"]
            for slot in range(USERS)
        }
        groups = [
            http.post("Groups", json={"schemas": [c.GROUP_SCHEMA], "displayName": f"G{n}"}).json()[
                "id"
            ]
            for n in range(GROUPS)
        ]
    roles = [
        make_role(organization, "Operator", "configure_sso", "view_scimuser"),
        make_role(organization, "Auditor", "configure_sso", "view_scimgroup"),
    ]
    for group, role in zip(groups, roles, strict=False):
        services.set_group_role(organization, ACTOR, group, role.pk)
    anchor = ScimUser.objects.select_related("account").get(pk=users[0])
    services.grant_role(organization, ACTOR, anchor.account, roles[0])
    first: list[tuple[ScimToken | None, str]] = [
        (ScimToken.objects.for_tenant(organization).get(), server.token)
    ]
    spare = [
        services.issue_token(organization, ACTOR, label=f"spare {n}") for n in range(SPARE_TOKENS)
    ]
    return Pool(users, groups, [role.pk for role in roles]), Tokens(first + list(spare))


def request_problems(sent: list[Sent], tokens: Tokens) -> list[str]:
    """Answers outside what each request may get, and revocations that did not take effect."""
    problems = []
    for request in sent:
        revoked = tokens.revoked_at.get(request.token)
        if request.status == 401:
            if revoked is None:
                problems.append(f"{request.op}: 401 with token {request.token}, never revoked")
        elif revoked is not None and request.started > revoked:
            problems.append(
                f"{request.op}: {request.status} with token {request.token}, sent after its "
                "revocation returned"
            )
        elif request.status not in ALLOWED.get(request.op, {200}):
            problems.append(f"{request.op}: unexpected {request.status}")
    return problems


def command_problems() -> list[str]:
    """The output of each verify command that fails."""
    problems = []
    for command in ("verify_scim_state", "verify_scim_audit"):
        out = StringIO()
        try:
            call_command(command, stdout=out)
        except CommandError as error:
            problems.append(f"{command}: {out.getvalue().strip()} ({error})")
    return problems


def kinds(problems: list[str]) -> list[str]:
    """How many problems of each shape (ids and numbers blotted out), with one example each."""
    shapes: dict[str, list[str]] = {}
    for problem in problems:
        shape = re.sub(r"\d+", "N", re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "ID", problem))
        shapes.setdefault(shape[:160], []).append(problem)
    ranked = sorted(shapes.values(), key=len, reverse=True)
    return [f"{len(same)} x {same[0][:400]}" for same in ranked[:12]]


@requires_postgresql
def test_a_storm_of_parallel_changes_keeps_every_invariant(live_scim: LiveScim) -> None:
    seed = int(os.environ.get("STORM_SEED") or random.SystemRandom().randrange(10**9))
    seconds = float(os.environ.get("STORM_SECONDS", "20"))
    print(f"STORM_SEED={seed} STORM_SECONDS={seconds:g}")
    pool, tokens = set_up(live_scim)
    clients = [
        Client(random.Random(f"{seed}/{n}"), live_scim.http(), pool, tokens, live_scim.organization)
        for n in range(CLIENTS)
    ]
    deadline = time.monotonic() + seconds
    with ThreadPoolExecutor(max_workers=CLIENTS) as executor:
        runs = [
            executor.submit(closing_connection(partial(client.run, deadline))) for client in clients
        ]
        for run in runs:
            run.result(timeout=seconds + 120)
    for client in clients:
        client.http.close()
    sent = [request for client in clients for request in client.sent]
    print(Counter(f"{r.op} {r.status if isinstance(r.status, int) else 'error'}" for r in sent))

    found = {
        "requests": request_problems(sent, tokens),
        "verify commands": command_problems(),
        "audit replay": audit_problems(live_scim.organization),
    }

    total = sum(map(len, found.values()))
    assert total == 0, f"STORM_SEED={seed}\n" + "\n".join(
        f"{len(problems)} {kind} problems, by kind:" + "\n  ".join(["", *kinds(problems)])
        for kind, problems in found.items()
        if problems
    )
