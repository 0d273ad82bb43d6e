"""Faults: a failing adapter, a statement timeout, a killed connection, a database restart.

Whatever fails halfway, the request answers a SCIM error body (never HTML,
never internals) and leaves nothing half-written and nothing audited: 500 for
a host adapter that raises, 503 with ``Retry-After`` when the database cannot
answer now (the client may retry). A database restart is simulated by
terminating the server's backends (``pg_terminate_backend``), never by
restarting the shared cluster; the app recovers on its own, through
``CONN_HEALTH_CHECKS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.servers.basehttp import WSGIServer
from django.db import connection, connections
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler
from guardian.models import UserObjectPermission

from axon_scim import services, signals
from axon_scim.adapter import AccountAdapter
from axon_scim.audit import SYSTEM
from axon_scim.models import AuditEvent, Organization, RoleAssignment, ScimUser
from axon_scim.protocol import constants as c

from .conftest import ScimClient, World, patch_body, provision, requires_postgresql
from .test_errors import assert_error

HOOKS: dict[str, Callable[[], None]] = {}


class HookAdapter(AccountAdapter):
    """The default adapter, running a test's hook (``HOOKS``) first where one is set."""

    def create_account(self, scim_user: Any, **kwargs: Any) -> Any:
        HOOKS.get("create_account", lambda: None)()
        return super().create_account(scim_user, **kwargs)

    def deactivate_account(self, account: Any) -> None:
        HOOKS.get("deactivate_account", lambda: None)()
        super().deactivate_account(account)


@pytest.fixture
def hooks(settings: Any) -> Iterator[dict[str, Callable[[], None]]]:
    settings.AXON_SCIM = {"ADAPTER": f"{__name__}.HookAdapter"}
    yield HOOKS
    HOOKS.clear()


def state() -> tuple[Any, ...]:
    """SCIM users, their accounts, roles, permissions and the audit log, as they stand."""
    return (
        sorted(ScimUser.objects.values_list("pk", "version", "active", "account__is_active")),
        sorted(RoleAssignment.objects.values_list("account_id", "role_id", "group_id")),
        sorted(UserObjectPermission.objects.values_list("user_id", "permission_id")),
        AuditEvent.objects.count(),
    )


def mapped(world: World) -> ScimUser:
    """Map the world's group to its role; return a member, who now holds the role."""
    services.set_group_role(world.org, SYSTEM, world.group.pk, world.role.pk)
    member = world.members[0]
    assert RoleAssignment.objects.filter(account=member.account, group=world.group).exists()
    return member


DEACTIVATE = patch_body({"op": "replace", "path": "active", "value": False})


def assert_internal_error(response: Any) -> None:
    body = assert_error(response, 500)
    assert body["detail"] == "An internal error occurred. It has been logged."
    assert b"adapter exploded" not in response.content and b"Traceback" not in response.content


# --- an adapter that raises -----------------------------------------------------------------


def explode() -> None:
    raise RuntimeError("adapter exploded: /srv/portal/secrets.py line 12")


@pytest.mark.django_db
def test_an_adapter_that_raises_on_create_changes_and_audits_nothing(
    scim: ScimClient, hooks: dict[str, Callable[[], None]], django_user_model: Any
) -> None:
    accounts, before = django_user_model.objects.count(), state()
    hooks["create_account"] = explode
    received: list[Any] = []
    signals.user_provisioned.connect(received.append, weak=False, dispatch_uid="faults")
    try:
        response = scim.post("Users", {"schemas": [c.USER_SCHEMA], "userName": "new@x.com"})
    finally:
        signals.user_provisioned.disconnect(dispatch_uid="faults")
    assert_internal_error(response)
    assert (state(), django_user_model.objects.count(), received) == (before, accounts, [])


@pytest.mark.django_db
def test_an_adapter_that_raises_on_deactivate_changes_and_audits_nothing(
    scim: ScimClient, world: World, hooks: dict[str, Callable[[], None]]
) -> None:
    member, scim = mapped(world), ScimClient(world.secret)
    before = state()
    hooks["deactivate_account"] = explode
    assert_internal_error(scim.patch(f"Users/{member.pk}", DEACTIVATE))
    assert state() == before
    member.refresh_from_db()
    assert member.account.is_active and member.active is not False
    HOOKS.clear()
    assert scim.patch(f"Users/{member.pk}", DEACTIVATE).status_code == 200
    assert not RoleAssignment.objects.filter(account=member.account).exists()


# --- the statement timeout fires (PostgreSQL) -----------------------------------------------


def sleep(seconds: float) -> Callable[[], None]:
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [seconds])

    return run


def assert_unavailable(response: Any, detail: str) -> None:
    body = assert_error(response, 503)
    assert detail in body["detail"]
    assert response["Retry-After"] == "5"


@requires_postgresql
@pytest.mark.django_db
def test_a_write_past_the_statement_timeout_is_503_and_rolled_back(
    world: World, hooks: dict[str, Callable[[], None]], settings: Any
) -> None:
    member, scim = mapped(world), ScimClient(world.secret)
    settings.AXON_SCIM = {**settings.AXON_SCIM, "STATEMENT_TIMEOUT": 0.2}
    before = state()
    hooks["deactivate_account"] = sleep(2)
    assert_unavailable(scim.patch(f"Users/{member.pk}", DEACTIVATE), "took longer")
    assert state() == before


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_read_past_the_statement_timeout_is_503(
    scim: ScimClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from axon_scim.views import UserResourceView

    provision(scim, "bjensen@example.com")
    settings.AXON_SCIM = {"STATEMENT_TIMEOUT": 0.2, "RETRY_AFTER": 7}
    render_page = UserResourceView.render_page

    def slow(self: UserResourceView, *args: Any) -> Any:
        sleep(2)()
        return render_page(self, *args)

    monkeypatch.setattr(UserResourceView, "render_page", slow)
    response = scim.get("Users")
    assert_error(response, 503)
    assert response["Retry-After"] == "7"
    monkeypatch.setattr(UserResourceView, "render_page", render_page)
    assert scim.get("Users").json()["totalResults"] == 1


# --- a connection killed in the middle of a request (PostgreSQL) ----------------------------


def side_connection() -> psycopg.Connection[Any]:
    """A connection of its own to the test database, outside Django."""
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"],
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        autocommit=True,
    )


def terminate(pids: list[int]) -> None:
    """End these backends from another connection, and wait until they are gone."""
    with side_connection() as side:
        for pid in pids:
            side.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 10
        while side.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
        ).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "the backends did not end"
            time.sleep(0.05)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_mid_request_is_503_with_nothing_half_written(
    world: World, hooks: dict[str, Callable[[], None]]
) -> None:
    member, scim = mapped(world), ScimClient(world.secret)
    before = state()

    def kill_my_connection() -> None:
        # The user row, the account and the role assignments are written by now.
        terminate([connection.connection.info.backend_pid])

    hooks["deactivate_account"] = kill_my_connection
    assert_unavailable(
        scim.patch(f"Users/{member.pk}", DEACTIVATE), "could not complete the request"
    )
    connection.close()  # the test's own connection was the one killed
    assert state() == before
    HOOKS.clear()
    assert scim.patch(f"Users/{member.pk}", DEACTIVATE).status_code == 200
    assert state() != before


# --- a database restart under load (PostgreSQL) ---------------------------------------------


class SequentialLiveServer(LiveServerThread):
    """A live server that answers one request at a time on one thread, as a gunicorn sync
    worker does, so that its database connection persists from request to request."""

    def _create_server(self, connections_override: Any = None) -> WSGIServer:
        return WSGIServer(
            (self.host, self.port), QuietWSGIRequestHandler, allow_reuse_address=False
        )


@pytest.fixture
def persistent_server(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[httpx.Client, Organization]]:
    """A sequential live server whose connection persists (CONN_MAX_AGE), and a SCIM client."""
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 600)
    organization = Organization.objects.create(slug="live", name="Live")
    token = services.issue_token(organization, label="faults")[1]
    server = SequentialLiveServer("127.0.0.1", static_handler=lambda handler: handler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{server.port}/scim/v2/",
        headers={"Authorization": f"Bearer {token}", "Content-Type": c.MEDIA_TYPE},
        timeout=30,
    )
    try:
        yield client, organization
    finally:
        client.close()
        server.terminate()


def server_backends() -> list[int]:
    """Every other connection to the test database: the live server's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return list(cursor.fetchone()[0] or [])


def test_the_demo_settings_check_connection_health() -> None:
    assert django_settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@requires_postgresql
@pytest.mark.live
@pytest.mark.parametrize(("health_checks", "first_after"), [(True, 200), (False, 503)])
def test_a_restart_between_requests_is_not_even_noticed_with_health_checks(
    persistent_server: tuple[httpx.Client, Organization],
    monkeypatch: pytest.MonkeyPatch,
    health_checks: bool,
    first_after: int,
) -> None:
    monkeypatch.setitem(connections.settings["default"], "CONN_HEALTH_CHECKS", health_checks)
    client, _ = persistent_server
    assert client.get("Users").status_code == 200
    backends = server_backends()
    assert backends, "the server keeps its connection between requests"
    terminate(backends)
    # With CONN_HEALTH_CHECKS the dead connection is replaced before the next request
    # uses it; without, that request fails (503, never 500) and the one after reconnects.
    assert client.get("Users").status_code == first_after
    assert client.get("Users").status_code == 200
    assert server_backends() and server_backends() != backends


@requires_postgresql
@pytest.mark.live
def test_a_restart_under_load_gives_at_most_transient_503s_never_a_500(
    persistent_server: tuple[httpx.Client, Organization],
) -> None:
    client, organization = persistent_server
    user_id = provision_over_http(client, "load@example.com")
    statuses: list[int] = []
    errors: list[Any] = []
    stop = threading.Event()

    def load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            if n % 2:
                response = client.get("Users", params={"filter": 'userName eq "load@example.com"'})
            else:
                body = patch_body({"op": "replace", "path": "title", "value": f"T{n}"})
                response = client.patch(f"Users/{user_id}", json=body)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                errors.append((response.headers, response.text))

    worker = threading.Thread(target=load)
    worker.start()
    try:
        for _ in range(5):  # five "restarts", each while requests are in flight
            time.sleep(0.3)
            terminate(server_backends())
        time.sleep(0.3)
    finally:
        stop.set()
        worker.join(30)
    after = [client.get("Users").status_code for _ in range(5)]
    assert after == [200] * 5
    assert len(statuses) > 20 and set(statuses) <= {200, 503}, statuses
    for headers, text in errors:
        assert headers["content-type"] == c.MEDIA_TYPE and headers["retry-after"] == "5", text
    assert ScimUser.objects.filter(organization=organization).count() == 1


def provision_over_http(client: httpx.Client, user_name: str) -> str:
    response = client.post("Users", json={"schemas": [c.USER_SCHEMA], "userName": user_name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
