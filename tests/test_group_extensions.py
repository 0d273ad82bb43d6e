"""Host-declared extension schemas of Groups (``resourceType: "Group"``), end to end.

The Group counterpart of ``test_host_extensions``: the same value rows,
filters, sorting, PATCH shapes and audit as Users, and Bulk, ``.search``,
projection, ETags and tenancy.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import connection

from axon_scim.extension_models import ScimExtensionValue
from axon_scim.extension_values import extension_rows
from axon_scim.extensions import resource_type
from axon_scim.models import AuditEvent, Organization, ScimGroup
from axon_scim.protocol import constants as c
from axon_scim.protocol.filter import parse_filter
from axon_scim.protocol.schemas import GROUP_RESOURCE
from axon_scim.querying import compile_filter

from .conftest import ScimClient, patch_body, requires_postgresql
from .live import LiveScim, live_scim_fixture  # noqa: F401
from .test_concurrency import in_parallel

TEAM = "urn:example:params:scim:schemas:extension:acme:2.0:Group"
DECLARATION = {
    "urn": TEAM,
    "resourceType": "Group",
    "name": "AcmeGroup",
    "attributes": [
        {"name": "costCenter", "type": "string"},
        {"name": "code", "type": "string", "caseExact": True},
        {"name": "level", "type": "integer"},
        {"name": "budget", "type": "decimal"},
        {"name": "external", "type": "boolean"},
        {"name": "since", "type": "dateTime"},
        {"name": "tags", "type": "string", "multiValued": True},
        {"name": "secret", "type": "string", "mutability": "writeOnly"},
        {
            "name": "sites",
            "type": "complex",
            "multiValued": True,
            "subAttributes": [{"name": "city"}, {"name": "floor", "type": "integer"}],
        },
    ],
}


@pytest.fixture
def team(settings: Any) -> None:
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [DECLARATION]}


def team_group(scim: ScimClient, name: str, **values: Any) -> str:
    body = {"schemas": [c.GROUP_SCHEMA, TEAM], "displayName": name, TEAM: values}
    response = scim.post("Groups", body)
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def search(text: str) -> dict[str, Any]:
    return {"schemas": [c.SEARCH_REQUEST], "filter": text}


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {doc["id"] for doc in response.json()["Resources"]}


@pytest.mark.django_db
def test_advertised_in_schemas_and_the_group_resource_type(
    team: None, anonymous_scim: ScimClient
) -> None:
    schemas = anonymous_scim.get("Schemas").json()["Resources"]
    team_doc = next(s for s in schemas if s["id"] == TEAM)
    assert [a["name"] for a in team_doc["attributes"]][:3] == ["costCenter", "code", "level"]
    assert anonymous_scim.get(f"Schemas/{TEAM}").status_code == 200
    group_type = anonymous_scim.get("ResourceTypes/Group").json()
    assert {"schema": TEAM, "required": False} in group_type["schemaExtensions"]
    user_type = anonymous_scim.get("ResourceTypes/User").json()
    assert TEAM not in {e["schema"] for e in user_type["schemaExtensions"]}


@pytest.mark.django_db
def test_values_are_typed_stored_returned_and_audited(team: None, scim: ScimClient) -> None:
    values = {
        "costCenter": "CC-1",
        "level": "3",
        "budget": 1.5,
        "external": "True",
        "since": "2024-01-31T12:00:00+01:00",
        "tags": "solo",
        "secret": "s3",
        "sites": [{"city": "Paris", "floor": 2}],
    }
    group_id = team_group(scim, "Typed", **values)
    response = scim.get(f"Groups/{group_id}")
    doc = response.json()
    assert TEAM in doc["schemas"]
    expected = {
        "costCenter": "CC-1",
        "level": 3,
        "budget": 1.5,
        "external": True,
        "since": "2024-01-31T11:00:00Z",
        "tags": ["solo"],
        "sites": [{"city": "Paris", "floor": 2}],
    }
    assert doc[TEAM] == expected
    assert doc["members"] == []  # the whole-members answer, written as text, keeps them
    assert ScimExtensionValue.objects.filter(group_id=group_id, key=f"{TEAM}:secret").exists()
    event = AuditEvent.objects.filter(action="group.created").latest("sequence")
    assert event.after[TEAM]["costCenter"] == "CC-1"
    listed = scim.get("Groups", {"filter": 'displayName eq "Typed"'}).json()["Resources"]
    assert listed[0][TEAM] == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "value"),
    [("level", "three"), ("budget", "x"), ("external", "maybe"), ("since", "yesterday")],
)
def test_a_value_of_the_wrong_type_is_refused(
    team: None, scim: ScimClient, name: str, value: Any
) -> None:
    response = scim.post("Groups", {"displayName": "Bad", TEAM: {name: value}})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert name in response.json()["detail"]
    assert not ScimGroup.objects.exists()


@pytest.mark.django_db
def test_filters_with_every_operator_and_urn_paths(team: None, scim: ScimClient) -> None:
    a = team_group(
        scim,
        "A",
        costCenter="Alpha",
        code="X",
        level=1,
        since="2024-01-01T00:00:00Z",
        tags=["t1"],
        sites=[{"city": "Paris", "floor": 1}],
    )
    b = team_group(
        scim,
        "B",
        costCenter="beta",
        code="x",
        level=5,
        since="2025-01-01T00:00:00Z",
        sites=[{"city": "Lyon", "floor": 1}, {"city": "Paris", "floor": 3}],
    )
    plain = scim.post("Groups", {"displayName": "C"}).json()["id"]
    cases = {
        f'{TEAM}:costCenter eq "alpha"': {a},
        f'{TEAM}:costCenter ne "alpha"': {b, plain},
        f'{TEAM}:costCenter co "ET"': {b},
        f'{TEAM}:costCenter sw "al"': {a},
        f'{TEAM}:costCenter ew "A"': {a, b},
        f'{TEAM}:costCenter gt "alpha"': {b},
        f"{TEAM}:costCenter pr": {a, b},
        f"not ({TEAM}:costCenter pr)": {plain},
        f'{TEAM}:code eq "x"': {b},
        f"{TEAM}:level ge 2": {b},
        f"{TEAM}:level lt 2": {a},
        f'{TEAM}:since gt "2024-06-01T00:00:00Z"': {b},
        f'{TEAM}:tags eq "t1"': {a},
        f'{TEAM}:sites[city eq "Paris" and floor eq 3]': {b},
        f'{TEAM}:sites[city eq "Lyon" and floor eq 3]': set(),
        f'{TEAM}:sites.city eq "Paris"': {a, b},
        f'{TEAM}:tags eq "t1" or displayName eq "C"': {a, plain},
        f'{TEAM}:sites[city eq "Paris" and floor eq 3] or {TEAM}:costCenter eq "alpha"': {a, b},
        f'not ({TEAM}:sites.city eq "Lyon" or {TEAM}:tags pr)': {plain},
    }
    for text, expected in cases.items():
        assert ids(scim.get("Groups", {"filter": text})) == expected, text
    searched = scim.post("Groups/.search", search(f'{TEAM}:costCenter eq "BETA"'))
    assert ids(searched) == {b}
    assert ids(scim.post(".search", search(f"{TEAM}:level ge 1"))) == {a, b}


@pytest.mark.django_db
def test_sortable_where_single_valued_with_index_and_cursor_pages(
    team: None, scim: ScimClient
) -> None:
    first = team_group(scim, "Z", level=1)
    second = team_group(scim, "Y", level=7)
    order = {"sortBy": f"{TEAM}:level", "sortOrder": "descending"}
    response = scim.get("Groups", order)
    assert [d["id"] for d in response.json()["Resources"]] == [second, first]
    page = scim.get("Groups", {**order, "cursor": "", "count": 1}).json()
    following = scim.get("Groups", {**order, "cursor": page["nextCursor"], "count": 1}).json()
    assert [page["Resources"][0]["id"], following["Resources"][0]["id"]] == [second, first]
    assert scim.get("Groups", {"sortBy": f"{TEAM}:tags"}).status_code == 400


@pytest.mark.django_db
def test_projection_names_extension_attributes(team: None, scim: ScimClient) -> None:
    group_id = team_group(scim, "P", costCenter="CC", level=2)
    only = scim.get(f"Groups/{group_id}", {"attributes": f"{TEAM}:level"}).json()
    assert only[TEAM] == {"level": 2} and "displayName" not in only
    without = scim.get(f"Groups/{group_id}", {"excludedAttributes": f"{TEAM}:level"}).json()
    assert without[TEAM] == {"costCenter": "CC"} and without["members"] == []
    listed = scim.get("Groups", {"excludedAttributes": TEAM}).json()["Resources"]
    assert TEAM not in listed[0]


@pytest.mark.django_db
def test_patch_with_urn_paths_and_entra_pathless_keys(team: None, scim: ScimClient) -> None:
    group_id = team_group(scim, "Patched", costCenter="one")
    etag = scim.get(f"Groups/{group_id}")["ETag"]
    ops = [
        {"op": "Replace", "path": f"{TEAM}:costCenter", "value": "two"},
        {"op": "Replace", "value": {f"{TEAM}:level": "4", f"{TEAM}:tags": ["a", "b"]}},
        {"op": "add", "path": f"{TEAM}:sites", "value": [{"city": "Rome"}]},
    ]
    response = scim.patch(f"Groups/{group_id}", patch_body(*ops))
    assert response.status_code == 200, response.content
    assert response.json()[TEAM] == {
        "costCenter": "two",
        "level": 4,
        "tags": ["a", "b"],
        "sites": [{"city": "Rome"}],
    }
    assert response["ETag"] != etag
    assert scim.get(f"Groups/{group_id}").json()[TEAM]["costCenter"] == "two"
    removed = scim.patch(
        f"Groups/{group_id}", patch_body({"op": "remove", "path": f"{TEAM}:costCenter"})
    )
    assert "costCenter" not in removed.json()[TEAM]
    event = AuditEvent.objects.filter(action="group.updated").latest("sequence")
    assert event.before[TEAM]["costCenter"] == "two" and "costCenter" not in event.after[TEAM]
    bad = scim.patch(
        f"Groups/{group_id}", patch_body({"op": "replace", "path": f"{TEAM}:level", "value": "x"})
    )
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidValue"


@pytest.mark.django_db
def test_a_patch_keeps_write_only_values_it_does_not_name(team: None, scim: ScimClient) -> None:
    group_id = team_group(scim, "Secretive", secret="s3", level=1)
    secret = ScimExtensionValue.objects.filter(group_id=group_id, key=f"{TEAM}:secret")
    other = patch_body({"op": "replace", "path": f"{TEAM}:level", "value": 2})
    assert "secret" not in scim.patch(f"Groups/{group_id}", other).json()[TEAM]
    assert secret.get().text == "s3"
    event = AuditEvent.objects.filter(action="group.updated").get()
    assert "secret" not in event.before[TEAM] and "secret" not in event.after[TEAM]
    scim.patch(f"Groups/{group_id}", patch_body({"op": "remove", "path": f"{TEAM}:secret"}))
    assert not secret.exists()


@pytest.mark.django_db
def test_a_change_of_custom_values_alone_is_a_new_version_and_a_repeat_is_not(
    team: None, scim: ScimClient
) -> None:
    group_id = team_group(scim, "Versioned", level=1)
    etag = scim.get(f"Groups/{group_id}")["ETag"]
    body = {"displayName": "Versioned", TEAM: {"level": 2}}
    replaced = scim.put(f"Groups/{group_id}", body, headers={"If-Match": etag})
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()[TEAM] == {"level": 2} and replaced["ETag"] != etag
    events = AuditEvent.objects.filter(action="group.replaced")
    assert events.get().after[TEAM] == {"level": 2}
    again = scim.put(f"Groups/{group_id}", body)
    assert again["ETag"] == replaced["ETag"] and events.count() == 1
    cleared = scim.put(f"Groups/{group_id}", {"displayName": "Versioned"})
    assert TEAM not in cleared.json() and cleared["ETag"] != replaced["ETag"]
    assert not ScimExtensionValue.objects.filter(group_id=group_id).exists()


@pytest.mark.django_db
def test_required_attributes_are_enforced_on_create_and_replace(
    settings: Any, scim: ScimClient
) -> None:
    required = {**DECLARATION, "attributes": [{"name": "costCenter", "required": True}]}
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [required]}
    refused = scim.post("Groups", {"displayName": "R"})
    assert refused.status_code == 400 and "costCenter" in refused.json()["detail"]
    group_id = team_group(scim, "R", costCenter="CC")
    assert scim.put(f"Groups/{group_id}", {"displayName": "R"}).status_code == 400
    assert scim.get(f"Groups/{group_id}").json()[TEAM] == {"costCenter": "CC"}


@pytest.mark.django_db
def test_undeclared_attributes_are_ignored_and_audited(team: None, scim: ScimClient) -> None:
    body = {"displayName": "U", "urn:x:Custom:2.0:Group:region": "EU", "shoeSize": 9}
    created = scim.post("Groups", body)
    assert created.status_code == 201
    event = AuditEvent.objects.filter(action="group.created").latest("sequence")
    assert event.after["ignoredAttributes"] == ["shoeSize", "urn:x:Custom:2.0:Group:region"]
    body = {"displayName": "U", TEAM: {"level": 1}, "shoeSize": 10}
    assert scim.put(f"Groups/{created.json()['id']}", body).status_code == 200
    event = AuditEvent.objects.filter(action="group.replaced").latest("sequence")
    assert event.after["ignoredAttributes"] == ["shoeSize"]


@pytest.mark.django_db
def test_bulk_operations_carry_group_values(team: None, scim: ScimClient) -> None:
    operations = [
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g",
            "data": {"displayName": "Bulked", TEAM: {"costCenter": "B1"}},
        },
        {
            "method": "PATCH",
            "path": "/Groups/bulkId:g",
            "data": patch_body({"op": "add", "value": {f"{TEAM}:level": 9}}),
        },
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "bad",
            "data": {"displayName": "Bad", TEAM: {"level": "nine"}},
        },
    ]
    response = scim.post("Bulk", {"schemas": [c.BULK_REQUEST], "Operations": operations})
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "200", "400"]
    group_id = results[0]["location"].rsplit("/", 1)[1]
    assert scim.get(f"Groups/{group_id}").json()[TEAM] == {"costCenter": "B1", "level": 9}
    assert not ScimGroup.objects.filter(display_name="Bad").exists()


@pytest.mark.django_db
def test_values_stay_in_their_organization(
    team: None, scim: ScimClient, other_scim: ScimClient
) -> None:
    ours = team_group(scim, "Ours", costCenter="shared")
    theirs = team_group(other_scim, "Theirs", costCenter="shared")
    query = {"filter": f'{TEAM}:costCenter eq "shared"'}
    assert ids(scim.get("Groups", query)) == {ours}
    assert ids(other_scim.get("Groups", query)) == {theirs}
    assert ids(other_scim.post(".search", search(query["filter"]))) == {theirs}
    foreign = other_scim.patch(
        f"Groups/{ours}", patch_body({"op": "replace", "path": f"{TEAM}:level", "value": 1})
    )
    assert foreign.status_code == 404
    rows = ScimExtensionValue.objects.filter(group_id=ours)
    assert {row.organization.slug for row in rows} == {"acme"}


def test_the_check_accepts_group_declarations_and_rejects_other_types(settings: Any) -> None:
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [DECLARATION]}
    assert not [e for e in run_checks() if e.id == "axon_scim.E020"]
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [{**DECLARATION, "resourceType": "Device"}]}
    errors = [e for e in run_checks() if e.id == "axon_scim.E020"]
    assert len(errors) == 1 and '"User" or "Group"' in errors[0].msg


@requires_postgresql
@pytest.mark.django_db
def test_equality_on_a_group_custom_attribute_uses_the_digest_index(
    team: None, org: Organization
) -> None:
    resource = resource_type(GROUP_RESOURCE, org)
    groups = ScimGroup.objects.bulk_create(
        ScimGroup(organization=org, display_name=f"g{n}", display_name_lower=f"g{n}")
        for n in range(3000)
    )
    rows = []
    for n, group in enumerate(groups):
        for row in extension_rows({TEAM: {"costCenter": f"CC-{n}", "level": n}}, resource):
            row.organization, row.group = org, group
            rows.append(row)
    ScimExtensionValue.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE axon_scim_scimgroup, axon_scim_scimextensionvalue")
    cases = {
        f'{TEAM}:costCenter eq "CC-17"': "axon_scim_ext_digest",
        f"{TEAM}:level eq 17": "axon_scim_ext_number",
    }
    for text, index in cases.items():
        condition = compile_filter(parse_filter(text), resource, organization=org)
        plan = ScimGroup.objects.for_tenant(org).filter(condition).explain()
        assert index in plan, plan


@requires_postgresql
@pytest.mark.live
def test_parallel_patches_of_custom_values_lose_nothing(team: None, live_scim: LiveScim) -> None:
    """10 PATCHes at once, each adding a tag: the group's row lock serializes them all."""
    with live_scim.http() as http:
        created = http.post("Groups", json={"displayName": "Tagged", TEAM: {"level": 1}})
        assert created.status_code == 201, created.text
    group_id = created.json()["id"]

    def add(tag: str) -> Any:
        body = patch_body({"op": "add", "path": f"{TEAM}:tags", "value": [tag]})
        return lambda http: http.patch(f"Groups/{group_id}", json=body)

    tags = [f"t{n}" for n in range(10)]
    responses = in_parallel(live_scim, [add(tag) for tag in tags])

    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    versions = sorted(int(r.headers["ETag"][3:-1]) for r in responses)
    assert versions == list(range(2, 12))
    group = ScimGroup.objects.get(pk=group_id)
    assert group.version == 11
    assert AuditEvent.objects.filter(action="group.updated", resource_id=group_id).count() == 10
    stored = ScimExtensionValue.objects.filter(group_id=group_id, key=f"{TEAM}:tags")
    assert sorted(stored.values_list("text", flat=True)) == tags
    assert sorted(stored.values_list("position", flat=True)) == list(range(10))
    with live_scim.http() as http:
        final = http.get(f"Groups/{group_id}").json()[TEAM]
    assert sorted(final["tags"]) == tags and final["level"] == 1


RULED = {
    **DECLARATION,
    "attributes": [
        {"name": "costCenter", "type": "string", "canonicalValues": ["CC-1", "CC-2"]},
        {"name": "badge", "type": "string", "mutability": "immutable"},
    ],
}
ENTRA_GROUP = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:Group"


@pytest.mark.django_db
def test_group_canonical_values_and_immutable(settings: Any, scim: ScimClient) -> None:
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [RULED]}
    refused = scim.post(
        "Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "R0", TEAM: {"costCenter": "X"}}
    )
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidValue"
    group_id = team_group(scim, "R1", costCenter="cc-1", badge="B-1")
    at = ScimGroup.objects.get(pk=group_id).version

    change = {"op": "replace", "path": f"{TEAM}:badge", "value": "B-2"}
    response = scim.patch(f"Groups/{group_id}", patch_body(change))
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"
    put = {"schemas": [c.GROUP_SCHEMA, TEAM], "displayName": "R1", TEAM: {"badge": "B-3"}}
    assert scim.put(f"Groups/{group_id}", put).json()["scimType"] == "mutability"

    same = {"op": "replace", "path": f"{TEAM}:badge", "value": "B-1"}
    assert scim.patch(f"Groups/{group_id}", patch_body(same)).status_code == 200
    kept = scim.put(f"Groups/{group_id}", {**put, TEAM: {"costCenter": "cc-1"}})
    assert kept.status_code == 200, kept.content
    assert kept.json()[TEAM]["badge"] == "B-1"  # a PUT that leaves it out keeps it
    assert ScimGroup.objects.get(pk=group_id).version == at  # nothing changed


@pytest.mark.django_db
def test_group_patch_names_ignored_attributes(team: None, scim: ScimClient) -> None:
    group_id = team_group(scim, "I1")
    named = {"op": "add", "path": f"{ENTRA_GROUP}:region", "value": "EU"}
    real = {"op": "replace", "path": f"{TEAM}:costCenter", "value": "CC-9"}
    assert scim.patch(f"Groups/{group_id}", patch_body(named, real)).status_code == 200
    updated = AuditEvent.objects.filter(action="group.updated").latest("pk")
    assert updated.after["ignoredAttributes"] == [f"{ENTRA_GROUP}:region"]

    at = ScimGroup.objects.get(pk=group_id).version
    for _ in range(2):
        assert scim.patch(f"Groups/{group_id}", patch_body(named)).status_code == 200
    assert ScimGroup.objects.get(pk=group_id).version == at
    notes = AuditEvent.objects.filter(action="group.ignored_attributes")
    assert [n.after for n in notes] == [{"ignoredAttributes": [f"{ENTRA_GROUP}:region"]}]
