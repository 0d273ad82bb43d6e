"""The audit chain: sealed in order per organization, verifiable, fork-free under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from axon_scim import services
from axon_scim.audit import Actor, audited, record_event, verify_chain
from axon_scim.models import AuditChain, AuditEvent, Organization

from .conftest import requires_postgresql
from .factories import OrganizationFactory

ACTOR = Actor(label="test")


@pytest.mark.django_db
def test_events_are_chained_per_organization(org, other_org):
    for n in range(3):
        services.issue_token(org, ACTOR, label=f"a{n}")
    services.issue_token(other_org, ACTOR, label="b")
    events = list(AuditEvent.objects.for_tenant(org).order_by("sequence"))
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[0].previous_hash == ""
    assert [e.previous_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert AuditEvent.objects.for_tenant(other_org).get().sequence == 1
    assert verify_chain(org).ok and verify_chain(org).checked == 3
    head = AuditChain.objects.get(pk=org.pk)
    assert (head.sequence, head.last_hash) == (3, events[-1].hash)


@pytest.mark.django_db
def test_events_of_a_failed_change_are_not_written(org):
    with pytest.raises(RuntimeError), audited(org):
        record_event(org, ACTOR, "test.event", "Test")
        raise RuntimeError("rolled back")
    assert not AuditEvent.objects.exists()
    services.issue_token(org, ACTOR)
    assert AuditEvent.objects.get().sequence == 1


@pytest.mark.django_db
def test_secrets_are_masked(org):
    with audited(org):
        record_event(
            org,
            ACTOR,
            "test.event",
            "Test",
            before={"password": "hunter2"},
            after={"nested": [{"secret": "s"}], "label": "kept"},
        )
    event = AuditEvent.objects.get()
    assert event.before == {"password": "********"}
    assert event.after == {"nested": [{"secret": "********"}], "label": "kept"}
    assert verify_chain(org).ok


@pytest.mark.django_db
def test_tampering_is_found(org):
    for n in range(4):
        services.issue_token(org, ACTOR, label=f"t{n}")
    second = AuditEvent.objects.get(organization=org, sequence=2)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE axon_scim_auditevent SET actor_label = %s WHERE id = %s",
            ["someone else", second.pk],
        )
    check = verify_chain(org)
    assert (check.ok, check.broken_event_id, check.broken_sequence, check.checked) == (
        False,
        second.pk,
        2,
        1,
    )
    assert "content" in check.reason


@pytest.mark.django_db
def test_deleted_events_are_found(org):
    for n in range(3):
        services.issue_token(org, ACTOR, label=f"t{n}")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM axon_scim_auditevent WHERE organization_id = %s AND sequence = 3", [org.pk]
        )
    check = verify_chain(org)
    assert not check.ok and "missing" in check.reason
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM axon_scim_auditevent WHERE organization_id = %s AND sequence = 1", [org.pk]
        )
    check = verify_chain(org)
    assert (check.ok, check.broken_sequence) == (False, 2)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    org = OrganizationFactory(slug="busy")

    def write(n: int) -> None:
        try:
            services.issue_token(Organization.objects.get(pk=org.pk), ACTOR, label=f"w{n}")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(40)))
    sequences = sorted(AuditEvent.objects.for_tenant(org).values_list("sequence", flat=True))
    assert sequences == list(range(1, 41))
    assert verify_chain(org).ok


@pytest.mark.django_db
def test_deleting_the_actor_account_does_not_break_the_chain(org):
    from .factories import AccountFactory

    account = AccountFactory()
    services.issue_token(org, Actor(user=account))
    account.delete()
    event = AuditEvent.objects.get()
    assert (event.actor_user, event.actor_type) == (None, "user")
    assert event.actor_label == f"user {account.username}"
    assert verify_chain(org).ok


@pytest.mark.django_db
def test_the_chain_is_keyed_and_survives_a_key_rotation(org, settings):
    services.issue_token(org, ACTOR)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert not verify_chain(org).ok  # a chain re-sealed without the key would not verify
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert verify_chain(org).ok
    services.issue_token(org, ACTOR)  # sealed with the new key, after the old ones
    assert verify_chain(org).ok and verify_chain(org).checked == 2


@pytest.mark.django_db
def test_request_ids_and_client_addresses(scim, settings):
    scim.post(
        "Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@x.com"},
        headers={"X-Request-ID": "<script>alert(1)</script>"},
    )
    event = AuditEvent.objects.get(action="user.created")
    assert len(event.request_id) == 32 and event.request_id.isalnum()
    settings.AXON_SCIM = {"NUM_PROXIES": 1}
    scim.post(
        "Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "b@x.com"},
        headers={"X-Request-ID": "okta-1234", "X-Forwarded-For": "6.6.6.6, 203.0.113.9"},
    )
    event = AuditEvent.objects.filter(action="user.created").latest("id")
    assert (event.request_id, event.ip) == ("okta-1234", "203.0.113.9")
