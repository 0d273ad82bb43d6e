"""Host-declared extension attributes through scim2-client and scim2-tester, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_tester import check_server

from axon_scim.protocol.constants import GROUP_SCHEMA, USER_SCHEMA

from .live import HttpxScimClient, LiveScim, live_scim_fixture  # noqa: F401
from .test_compliance import PASSING, describe, model, search

ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
DECLARATION = {
    "urn": ACME,
    "resourceType": "User",
    "name": "AcmeUser",
    "attributes": [{"name": "badge"}, {"name": "level", "type": "integer"}],
}
TEAM = "urn:example:params:scim:schemas:extension:acme:2.0:Group"
GROUP_DECLARATION = {
    "urn": TEAM,
    "resourceType": "Group",
    "name": "AcmeGroup",
    # No decimal: scim2-tester fills a float with a UUID string, which any server refuses.
    "attributes": [{"name": "costCenter"}, {"name": "external", "type": "boolean"}],
}
DECLARATIONS = [DECLARATION, GROUP_DECLARATION]


@pytest.mark.live
def test_scim2_client_round_trip_of_an_extension_attribute(
    live_scim: LiveScim, settings: Any
) -> None:
    settings.AXON_SCIM = {**getattr(settings, "AXON_SCIM", {}), "SCHEMA_EXTENSIONS": DECLARATIONS}
    with live_scim.http() as http:
        client: Any = HttpxScimClient(http, raise_scim_errors=True)
        client.discover()
        user_model = model(client, "User")
        created = client.create(
            user_model.model_validate(
                {
                    "schemas": [USER_SCHEMA, ACME],
                    "userName": "ext@example.com",
                    ACME: {"badge": "B-7", "level": 3},
                }
            )
        )
        dumped = created.model_dump()
        assert dumped[ACME] == {"badge": "B-7", "level": 3}
        found = client.query(user_model, query_parameters=search(f'{ACME}:badge eq "b-7"'))
        assert found.total_results == 1 and found.resources[0].id == created.id
        client.delete(user_model, created.id)


@pytest.mark.live
def test_scim2_client_round_trip_of_a_group_extension_attribute(
    live_scim: LiveScim, settings: Any
) -> None:
    settings.AXON_SCIM = {**getattr(settings, "AXON_SCIM", {}), "SCHEMA_EXTENSIONS": DECLARATIONS}
    with live_scim.http() as http:
        client: Any = HttpxScimClient(http, raise_scim_errors=True)
        client.discover()
        group_model = model(client, "Group")
        created = client.create(
            group_model.model_validate(
                {
                    "schemas": [GROUP_SCHEMA, TEAM],
                    "displayName": "Finance",
                    TEAM: {"costCenter": "CC-7", "external": True},
                }
            )
        )
        assert created.model_dump()[TEAM] == {"costCenter": "CC-7", "external": True}
        found = client.query(group_model, query_parameters=search(f'{TEAM}:costCenter eq "cc-7"'))
        assert found.total_results == 1 and found.resources[0].id == created.id
        client.delete(group_model, created.id)


@pytest.mark.live
def test_scim2_tester_with_an_extension_reports_no_failure(
    live_scim: LiveScim, settings: Any
) -> None:
    settings.AXON_SCIM = {**getattr(settings, "AXON_SCIM", {}), "SCHEMA_EXTENSIONS": DECLARATIONS}
    with live_scim.http() as http:
        failures = [
            describe(r) for r in check_server(HttpxScimClient(http)) if r.status not in PASSING
        ]
    assert failures == [], "\n".join(failures)
