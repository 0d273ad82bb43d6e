"""POST /Bulk: each operation as the same request sent alone, and the limits of the whole.

Each operation gets the same errors, the same audit event, the same roles,
accounts and signals as the request alone, in its own transaction (RFC 7644
section 3.7); over ``maxOperations`` or ``maxPayloadSize`` the whole Bulk is
a 413; another organization's resources fail as they would alone.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.db import connection
from django.urls import resolve

from axon_scim import services, signals
from axon_scim.adapter import AccountAdapter
from axon_scim.audit import SYSTEM
from axon_scim.models import RoleAssignment, ScimUser
from axon_scim.protocol import constants as c
from axon_scim.views import BulkView, ScimParser

from .conftest import ScimClient, World, provision, requires_postgresql
from .factories import ScimGroupFactory, ScimUserFactory
from .test_bulk import (
    MANAGER,
    bulk_body,
    created_id,
    error_of,
    patch,
    post_group,
    post_user,
    run,
    scim_events,
    snapshot,
)
from .test_errors import assert_error

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


class SettingProbeAdapter(AccountAdapter):
    """Notes the ``synchronous_commit`` that each account creation commits under."""

    seen: list[str] = []

    def create_account(self, scim_user: Any, **kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            self.seen.append(cursor.fetchone()[0])
        return super().create_account(scim_user, **kwargs)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_operations_commit_without_waiting_and_the_answer_waits_for_them(
    scim: ScimClient, settings: Any
) -> None:
    settings.AXON_SCIM = {"ADAPTER": f"{__name__}.SettingProbeAdapter"}
    SettingProbeAdapter.seen = []
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        (before,) = cursor.fetchone()
    assert before != "off"
    results = run(scim, post_user("a", "a@example.com"), post_user("b", "b@example.com"))
    assert [result["status"] for result in results] == ["201", "201"]
    provision(scim, "alone@example.com")
    assert SettingProbeAdapter.seen == ["off", "off", before]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == before


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
