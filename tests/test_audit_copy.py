"""Many events sealed at once: written by COPY on PostgreSQL, as an INSERT writes them."""

from __future__ import annotations

import pytest

from axon_scim.audit import COPY_FROM, Actor, audited, record_event, verify_chain
from axon_scim.models import AuditChain, AuditEvent

ACTOR = Actor(label="test", ip="192.0.2.7", user_agent="agent", request_id="req-1")


@pytest.mark.django_db
@pytest.mark.parametrize("count", [COPY_FROM - 1, COPY_FROM + 1])
def test_a_large_batch_is_sealed_and_verifiable(org, count):
    with audited(org):
        for n in range(count):
            record_event(
                org,
                ACTOR,
                "role.revoked",
                "Role",
                n,
                before=None if n % 2 else {"n": n},
                after={"account": f"user{n}", "quote": 'a "b" \\ c\tü'},
            )
    events = list(AuditEvent.objects.for_tenant(org).order_by("sequence"))
    assert [e.sequence for e in events] == list(range(1, count + 1))
    assert events[3].before is None and events[2].before == {"n": 2}
    assert events[5].after == {"account": "user5", "quote": 'a "b" \\ c\tü'}
    assert (events[0].ip, events[0].user_agent, events[0].request_id) == (
        "192.0.2.7",
        "agent",
        "req-1",
    )
    assert verify_chain(org).ok and verify_chain(org).checked == count
    head = AuditChain.objects.get(pk=org.pk)
    assert (head.sequence, head.last_hash) == (count, events[-1].hash)
