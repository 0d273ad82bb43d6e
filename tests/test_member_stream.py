"""A large group's members streamed from a held PostgreSQL cursor (issue 12, S8b).

The chunk size is cut to 2 members here, so a group of 5 streams in 3 chunks.
Streaming needs autocommit (a held cursor outlives the view), so these tests
run outside pytest-django's per-test transaction.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.http import StreamingHttpResponse

from axon_scim import member_stream
from axon_scim.models import ScimGroup, ScimMembership
from axon_scim.rendering import GroupRenderer
from axon_scim.views import resources

from .conftest import requires_postgresql
from .factories import ScimUserFactory

BASE = "http://testserver/scim/v2"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(member_stream, "CHUNK", 2)


@pytest.fixture
def team(org: Any) -> ScimGroup:
    """A group of four users (one with JSON's special characters in its name) and a group."""
    group = ScimGroup.objects.create(organization=org, display_name="Team")
    child = ScimGroup.objects.create(organization=org, display_name="Child \u00e9")
    for n, name in enumerate(['Zoë "Z" \\ \u2028', "", "plain", "last"]):
        user = ScimUserFactory(organization=org, user_name=f"s{n}@x.com", display_name=name)
        ScimMembership.objects.create(organization=org, group=group, user=user)
    ScimMembership.objects.create(organization=org, group=group, member_group=child)
    return group


def open_cursors() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        return int(cursor.fetchone()[0])


def body_of(response: Any) -> dict[str, Any]:
    content = b"".join(response.streaming_content)
    response.close()
    return json.loads(content)


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_large_group_streams_the_same_document(scim, team, small_chunks):
    plain = json.loads(GroupRenderer(BASE, team.organization_id).members_json(team.pk))
    response = scim.get(f"Groups/{team.pk}")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["ETag"] == 'W/"1"'
    assert response["Content-Type"] == "application/scim+json"
    doc = body_of(response)
    assert doc["members"] == plain and len(plain) == 5
    assert doc["displayName"] == "Team" and doc["meta"]["version"] == 'W/"1"'
    assert open_cursors() == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_group_within_one_chunk_is_answered_whole(scim, team, monkeypatch):
    monkeypatch.setattr(member_stream, "CHUNK", 5)
    response = scim.get(f"Groups/{team.pk}")
    assert not response.streaming
    assert len(response.json()["members"]) == 5
    assert open_cursors() == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_response_closed_unread_frees_its_cursor(scim, team, small_chunks):
    response = scim.get(f"Groups/{team.pk}")
    assert response.streaming and open_cursors() == 1
    response.close()
    assert open_cursors() == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_if_none_match_answers_304_without_streaming(scim, team, small_chunks):
    response = scim.get(f"Groups/{team.pk}", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304 and not response.streaming
    assert open_cursors() == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_etag_names_the_members_sent(scim, org, team, small_chunks, monkeypatch):
    """A change between the size probe and the cursor: the document is the new version's."""
    probe = resources.first_chunk
    newcomer = ScimUserFactory(organization=org, user_name="late@x.com", display_name="Late")

    def probe_then_change(*args: Any) -> str | None:
        found = probe(*args)
        ScimMembership.objects.create(organization=org, group=team, user=newcomer)
        ScimGroup.objects.filter(organization=org, pk=team.pk).update(version=2)
        return found

    monkeypatch.setattr(resources, "first_chunk", probe_then_change)
    response = scim.get(f"Groups/{team.pk}")
    doc = body_of(response)
    assert response["ETag"] == doc["meta"]["version"] == 'W/"2"'
    assert str(newcomer.pk) in {m["value"] for m in doc["members"]} and len(doc["members"]) == 6


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_failure_before_the_first_byte_is_a_scim_error(scim, team, small_chunks, monkeypatch):
    def timed_out(*args: Any) -> None:
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(member_stream.MemberChunks, "__init__", timed_out)
    response = scim.get(f"Groups/{team.pk}")
    assert response.status_code == 503 and not response.streaming
    assert response.json()["status"] == "503"
    assert open_cursors() == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_excluded_members_and_sub_attributes_take_the_plain_path(scim, team, small_chunks):
    excluded = scim.get(f"Groups/{team.pk}", {"excludedAttributes": "members"})
    assert not excluded.streaming and "members" not in excluded.json()
    values = scim.get(f"Groups/{team.pk}", {"attributes": "members.value"})
    assert not values.streaming
    assert all(set(m) == {"value"} for m in values.json()["members"])


@pytest.mark.django_db
def test_inside_a_transaction_the_members_come_whole(scim, team, small_chunks):
    """ATOMIC_REQUESTS (and SQLite): a held cursor cannot outlive the view; nothing streams."""
    response = scim.get(f"Groups/{team.pk}")
    assert not response.streaming
    assert response.json()["members"] == json.loads(
        GroupRenderer(BASE, team.organization_id).members_json(team.pk)
    )


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_streaming_can_be_turned_off(scim, team, small_chunks, settings):
    """Behind PgBouncer in transaction mode a held cursor may not be there for the next FETCH."""
    settings.AXON_SCIM = {"STREAM_MEMBERS": False}
    response = scim.get(f"Groups/{team.pk}")
    assert not response.streaming and len(response.json()["members"]) == 5
    assert open_cursors() == 0


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_streamed_group_carries_its_custom_values(scim, team, small_chunks, settings):
    urn = "urn:example:params:scim:schemas:extension:acme:2.0:Group"
    settings.AXON_SCIM = {
        "SCHEMA_EXTENSIONS": [
            {
                "urn": urn,
                "resourceType": "Group",
                "name": "AcmeGroup",
                "attributes": [{"name": "costCenter", "type": "string"}],
            }
        ]
    }
    patch = {"op": "add", "path": f"{urn}:costCenter", "value": "CC-7"}
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [patch]}
    assert scim.patch(f"Groups/{team.pk}", body).status_code == 200
    response = scim.get(f"Groups/{team.pk}")
    assert isinstance(response, StreamingHttpResponse)
    doc = body_of(response)
    assert doc[urn] == {"costCenter": "CC-7"} and urn in doc["schemas"]
    assert len(doc["members"]) == 5
