"""``verify_scim_audit``: the audit chain check, against rows altered or removed with SQL."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from axon_scim import services
from axon_scim.audit import event_hash
from axon_scim.models import AuditEvent, Organization

pytestmark = pytest.mark.django_db

ACTOR = services.Actor(label="tests")


def run(*args: str) -> str:
    """Run the command; return its stdout."""
    out = StringIO()
    call_command("verify_scim_audit", *args, stdout=out)
    return out.getvalue()


def run_failing(*args: str) -> tuple[str, CommandError]:
    """Run the command expecting it to fail; return its stdout and the error."""
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_scim_audit", *args, stdout=out)
    return out.getvalue(), failure.value


@pytest.fixture
def chains(org: Organization, other_org: Organization) -> list[AuditEvent]:
    """Four sealed events of ``org`` (returned in chain order) and one of ``other_org``."""
    for label in ("one", "two", "three"):
        token, _secret = services.issue_token(org, ACTOR, label=label)
    services.revoke_token(token, ACTOR)
    services.issue_token(other_org, ACTOR, label="other")
    events = list(AuditEvent.objects.for_tenant(org).order_by("sequence"))
    assert [event.sequence for event in events] == [1, 2, 3, 4]
    return events


def sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_intact_chains_are_reported_ok(chains: list[AuditEvent]) -> None:
    assert run() == "acme: ok: 4 events\nglobex: ok: 1 event\n"


def test_an_organization_without_events_is_ok(org: Organization) -> None:
    assert run("acme") == "acme: ok: 0 events\n"


def test_a_row_altered_with_sql_is_the_first_broken_link(chains: list[AuditEvent]) -> None:
    altered = chains[1]
    sql(
        "UPDATE axon_scim_auditevent SET after = %s WHERE id = %s",
        json.dumps({"label": "forged"}),
        altered.pk,
    )

    out, error = run_failing()

    assert out.splitlines() == [
        f"acme: BROKEN at event {altered.pk}, sequence 2: "
        "the event's content does not match its hash (1 event verified before it)",
        "globex: ok: 1 event",
    ]
    assert error.returncode == 1
    assert str(error) == "1 audit chain broken."


def test_an_altered_row_with_a_recomputed_hash_breaks_the_next_link(
    chains: list[AuditEvent],
) -> None:
    # A forger who rewrites the event and its own hash still breaks the chain:
    # the next event holds the hash of the original.
    altered = chains[1]
    altered.actor_label = "someone else"
    sql(
        "UPDATE axon_scim_auditevent SET actor_label = %s, hash = %s WHERE id = %s",
        altered.actor_label,
        event_hash(altered),
        altered.pk,
    )

    out, _error = run_failing("acme")

    assert out.splitlines() == [
        f"acme: BROKEN at event {chains[2].pk}, sequence 3: "
        "previous_hash does not match the previous event's hash (2 events verified before it)"
    ]


def test_a_row_deleted_with_sql_is_reported_at_the_gap(chains: list[AuditEvent]) -> None:
    sql("DELETE FROM axon_scim_auditevent WHERE id = %s", chains[1].pk)

    out, _error = run_failing("acme")

    assert out.splitlines() == [
        f"acme: BROKEN at event {chains[2].pk}, sequence 3: "
        "sequence 2 is missing (next is 3) (1 event verified before it)"
    ]


def test_the_last_row_deleted_with_sql_is_reported_against_the_chain_head(
    chains: list[AuditEvent],
) -> None:
    sql("DELETE FROM axon_scim_auditevent WHERE id = %s", chains[3].pk)

    out, _error = run_failing("acme")

    assert out.splitlines() == [
        "acme: BROKEN at sequence 4: the chain head is at sequence 4: "
        "events after 3 are missing (3 events verified before it)"
    ]


def test_every_broken_organization_is_reported(
    chains: list[AuditEvent], other_org: Organization
) -> None:
    sql("DELETE FROM axon_scim_auditevent WHERE id = %s", chains[0].pk)
    foreign = AuditEvent.objects.for_tenant(other_org).get()
    sql("UPDATE axon_scim_auditevent SET resource_id = %s WHERE id = %s", "x", foreign.pk)

    out, error = run_failing()

    assert [line.split(":")[:2] for line in out.splitlines()] == [
        ["acme", " BROKEN at event " + str(chains[1].pk) + ", sequence 2"],
        ["globex", " BROKEN at event " + str(foreign.pk) + ", sequence 1"],
    ]
    assert str(error) == "2 audit chains broken."


def test_a_slug_checks_only_that_organization(chains: list[AuditEvent]) -> None:
    sql("DELETE FROM axon_scim_auditevent WHERE id = %s", chains[0].pk)

    assert run("globex") == "globex: ok: 1 event\n"


def test_an_unknown_slug_is_an_error(org: Organization) -> None:
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        run("nope")
