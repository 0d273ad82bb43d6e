"""Host-declared extension schemas (``AXON_SCIM["SCHEMA_EXTENSIONS"]``), end to end."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks

from axon_scim.extension_models import ScimExtensionValue
from axon_scim.models import AuditEvent

from .conftest import ScimClient, patch_body, provision

ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"
DECLARATION = {
    "urn": ACME,
    "resourceType": "User",
    "name": "AcmeUser",
    "attributes": [
        {"name": "badge", "type": "string"},
        {"name": "code", "type": "string", "caseExact": True},
        {"name": "level", "type": "integer"},
        {"name": "rate", "type": "decimal"},
        {"name": "remote", "type": "boolean"},
        {"name": "since", "type": "dateTime"},
        {"name": "tags", "type": "string", "multiValued": True},
        {"name": "secret", "type": "string", "mutability": "writeOnly"},
        {
            "name": "desks",
            "type": "complex",
            "multiValued": True,
            "subAttributes": [{"name": "site"}, {"name": "floor", "type": "integer"}],
        },
    ],
}


@pytest.fixture
def acme(settings: Any) -> None:
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [DECLARATION]}


def acme_user(scim: ScimClient, user_name: str, **values: Any) -> str:
    return provision(scim, user_name, schemas=[ACME], **{ACME: values})


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {doc["id"] for doc in response.json()["Resources"]}


@pytest.mark.django_db
def test_advertised_in_schemas_and_resource_types(acme: None, anonymous_scim: ScimClient) -> None:
    schemas = anonymous_scim.get("Schemas").json()["Resources"]
    acme_doc = next(s for s in schemas if s["id"] == ACME)
    assert [a["name"] for a in acme_doc["attributes"]][:3] == ["badge", "code", "level"]
    assert acme_doc["attributes"][1]["caseExact"] is True
    assert anonymous_scim.get(f"Schemas/{ACME}").status_code == 200
    user_type = anonymous_scim.get("ResourceTypes/User").json()
    assert {"schema": ACME, "required": False} in user_type["schemaExtensions"]


@pytest.mark.django_db
def test_values_are_typed_stored_and_returned(acme: None, scim: ScimClient) -> None:
    values = {
        "badge": "B-1",
        "level": "3",
        "rate": 1.5,
        "remote": "True",
        "since": "2024-01-31T12:00:00+01:00",
        "tags": "solo",
        "secret": "s3",
        "desks": [{"site": "Paris", "floor": 2}],
    }
    user_id = acme_user(scim, "typed@example.com", **values)
    doc = scim.get(f"Users/{user_id}").json()
    assert ACME in doc["schemas"]
    assert doc[ACME] == {
        "badge": "B-1",
        "level": 3,
        "rate": 1.5,
        "remote": True,
        "since": "2024-01-31T11:00:00Z",
        "tags": ["solo"],
        "desks": [{"site": "Paris", "floor": 2}],
    }
    assert ScimExtensionValue.objects.filter(user_id=user_id, key=f"{ACME}:secret").exists()
    event = AuditEvent.objects.filter(action="user.created").latest("sequence")
    assert event.after[ACME]["badge"] == "B-1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("level", "three"),
        ("rate", "x"),
        ("remote", "maybe"),
        ("since", "yesterday"),
        # Well-formed but out of range: Django's parse_datetime raises instead of answering None.
        ("since", "2026-13-45T00:00:00Z"),
        ("since", "2026-02-30T00:00:00Z"),
        ("since", "2026-01-01T25:00:00Z"),
        # Beyond year 1..9999 once converted to UTC.
        ("since", "0001-01-01T00:00:00+01:00"),
        ("since", "9999-12-31T23:59:59-01:00"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(
    acme: None, scim: ScimClient, name: str, value: Any
) -> None:
    response = scim.post("Users", {"userName": "bad@example.com", ACME: {name: value}})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert name in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("rate", [9999999999999999999999999999, -1e27, 1e27])
def test_a_decimal_the_column_cannot_hold_is_refused(
    acme: None, scim: ScimClient, rate: Any
) -> None:
    # On SQLite 28 nines became the float 1e28, which every later read of the row failed on (500).
    response = scim.post("Users", {"userName": "big@example.com", ACME: {"rate": rate}})
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidValue"
    assert scim.get("Users").status_code == 200


@pytest.mark.django_db
def test_a_decimal_is_kept_at_the_columns_scale(acme: None, scim: ScimClient) -> None:
    """What a write answers is what a read answers, and repeating it changes nothing."""
    body = {"userName": "d@example.com", ACME: {"rate": 1e-13, "level": 5}}
    created = scim.post("Users", body)
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    read = scim.get(f"Users/{user_id}").json()
    assert read[ACME] == created.json()[ACME]
    again = scim.put(f"Users/{user_id}", body)
    assert again.json()["meta"]["version"] == read["meta"]["version"]


@pytest.mark.django_db
def test_filters_with_every_operator_and_urn_paths(acme: None, scim: ScimClient) -> None:
    a = acme_user(
        scim,
        "a@example.com",
        badge="Alpha",
        code="X",
        level=1,
        since="2024-01-01T00:00:00Z",
        tags=["t1"],
        desks=[{"site": "Paris", "floor": 1}],
    )
    b = acme_user(
        scim,
        "b@example.com",
        badge="beta",
        code="x",
        level=5,
        since="2025-01-01T00:00:00Z",
        desks=[{"site": "Lyon", "floor": 1}, {"site": "Paris", "floor": 3}],
    )
    c = provision(scim, "c@example.com")
    cases = {
        f'{ACME}:badge eq "alpha"': {a},
        f'{ACME}:badge ne "alpha"': {b, c},
        f'{ACME}:badge co "ET"': {b},
        f'{ACME}:badge sw "al"': {a},
        f'{ACME}:badge ew "A"': {a, b},
        f'{ACME}:badge gt "alpha"': {b},
        f"{ACME}:badge pr": {a, b},
        f"not ({ACME}:badge pr)": {c},
        f'{ACME}:code eq "x"': {b},
        f"{ACME}:level ge 2": {b},
        f"{ACME}:level lt 2": {a},
        f'{ACME}:since gt "2024-06-01T00:00:00Z"': {b},
        f'{ACME}:tags eq "t1"': {a},
        f'{ACME}:desks[site eq "Paris" and floor eq 3]': {b},
        f'{ACME}:desks[site eq "Lyon" and floor eq 3]': set(),
        f'{ACME}:desks.site eq "Paris"': {a, b},
        # Under ``or`` multi-valued terms compile to uncorrelated subqueries (querying).
        f'{ACME}:tags eq "t1" or userName eq "c@example.com"': {a, c},
        f'{ACME}:desks[site eq "Paris" and floor eq 3] or {ACME}:badge eq "alpha"': {a, b},
        f'not ({ACME}:desks.site eq "Lyon" or {ACME}:tags pr)': {c},
    }
    for text, expected in cases.items():
        assert ids(scim.get("Users", {"filter": text})) == expected, text


@pytest.mark.django_db
def test_sortable_where_single_valued(acme: None, scim: ScimClient) -> None:
    first = acme_user(scim, "z@example.com", level=1)
    second = acme_user(scim, "y@example.com", level=7)
    response = scim.get("Users", {"sortBy": f"{ACME}:level", "sortOrder": "descending"})
    assert [d["id"] for d in response.json()["Resources"]] == [second, first]
    assert scim.get("Users", {"sortBy": f"{ACME}:tags"}).status_code == 400


@pytest.mark.django_db
def test_patch_with_urn_paths_and_entra_pathless_keys(acme: None, scim: ScimClient) -> None:
    user_id = acme_user(scim, "p@example.com", badge="one")
    ops = [
        {"op": "Replace", "path": f"{ACME}:badge", "value": "two"},
        {"op": "Replace", "value": {f"{ACME}:level": "4", f"{ACME}:tags": ["a", "b"]}},
        {"op": "add", "path": f"{ACME}:desks", "value": [{"site": "Rome"}]},
    ]
    response = scim.patch(f"Users/{user_id}", patch_body(*ops))
    assert response.status_code == 200, response.content
    assert response.json()[ACME] == {
        "badge": "two",
        "level": 4,
        "tags": ["a", "b"],
        "desks": [{"site": "Rome"}],
    }
    removed = scim.patch(f"Users/{user_id}", patch_body({"op": "remove", "path": f"{ACME}:badge"}))
    assert "badge" not in removed.json()[ACME]
    event = AuditEvent.objects.filter(action="user.updated").latest("sequence")
    assert event.before[ACME]["badge"] == "two"


@pytest.mark.django_db
def test_a_write_only_value_can_be_neither_filtered_nor_sorted_on(
    settings: Any, scim: ScimClient
) -> None:
    # As for password: a filter (sw, gt ...) or an order would read a never-returned value out.
    lock = {
        "name": "lock",
        "type": "complex",
        "subAttributes": [{"name": "code", "mutability": "writeOnly"}, {"name": "kind"}],
    }
    declared = {**DECLARATION, "attributes": [*DECLARATION["attributes"], lock]}
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [declared]}
    acme_user(scim, "w@example.com", secret="s3", lock={"code": "c1", "kind": "k"})
    assert ids(scim.get("Users", {"filter": f'{ACME}:lock.kind eq "k"'}))
    for text in (
        f'{ACME}:secret sw "s"',
        f"{ACME}:secret pr",
        f'{ACME}:secret gt "a"',
        f'{ACME}:lock.code eq "c1"',
    ):
        response = scim.get("Users", {"filter": text})
        assert response.status_code == 400, (text, response.content)
        assert response.json()["scimType"] == "invalidFilter"
    response = scim.get("Users", {"sortBy": f"{ACME}:secret"})
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidValue"


@pytest.mark.django_db
def test_a_patch_keeps_write_only_values_it_does_not_name(acme: None, scim: ScimClient) -> None:
    user_id = acme_user(scim, "w@example.com", secret="s3", level=1)
    secret = ScimExtensionValue.objects.filter(user_id=user_id, key=f"{ACME}:secret")
    other = patch_body({"op": "replace", "path": f"{ACME}:level", "value": 2})
    assert "secret" not in scim.patch(f"Users/{user_id}", other).json()[ACME]
    assert secret.get().text == "s3"
    scim.patch(f"Users/{user_id}", patch_body({"op": "remove", "path": f"{ACME}:secret"}))
    assert not secret.exists()


@pytest.mark.django_db
def test_the_adapter_receives_the_values(acme: None, scim: ScimClient, monkeypatch: Any) -> None:
    seen: list[dict[str, Any]] = []
    from axon_scim.adapter import AccountAdapter

    monkeypatch.setattr(
        AccountAdapter, "apply_extension_values", lambda self, a, u, values: seen.append(values)
    )
    acme_user(scim, "hook@example.com", badge="B")
    assert seen[-1][ACME] == {"badge": "B"}


@pytest.mark.django_db
def test_undeclared_attributes_are_ignored_and_audited(scim: ScimClient) -> None:
    body = {"userName": "u@example.com", "urn:x:Custom:2.0:User:region": "EU", "shoeSize": 9}
    assert scim.post("Users", body).status_code == 201
    event = AuditEvent.objects.filter(action="user.created").latest("sequence")
    assert event.after["ignoredAttributes"] == ["shoeSize", "urn:x:Custom:2.0:User:region"]


def test_the_check_rejects_a_malformed_declaration(settings: Any) -> None:
    bad = {"urn": "acme", "resourceType": "Device", "attributes": [{"name": "x", "type": "blob"}]}
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [bad]}
    errors = [e for e in run_checks() if e.id == "axon_scim.E020"]
    assert len(errors) == 3
    assert any('"urn"' in e.msg for e in errors)
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [DECLARATION]}
    assert not [e for e in run_checks() if e.id == "axon_scim.E020"]
