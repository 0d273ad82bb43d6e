"""Custom attributes: bare-URN PATCH paths, canonicalValues, mutability, ignored names on PATCH.

RFC 7644 section 3.5.2 (a schema URN as a PATCH path), RFC 7643 section 2.2
(mutability) and section 7 (canonicalValues); the attributes nobody
declared are dropped and named in the audit log, as for POST and PUT.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks

from axon_scim.extension_models import CustomAttribute, ScimExtensionValue
from axon_scim.models import AuditEvent, Organization, ScimUser
from axon_scim.protocol import constants as c

from .conftest import ScimClient, patch_body, provision
from .test_bulk import error_of, patch, post_user, run

RULES = "urn:example:params:scim:schemas:extension:rules:2.0:User"
ENTERPRISE = c.ENTERPRISE_USER_SCHEMA
ENTRA = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
DECLARATION = {
    "urn": RULES,
    "resourceType": "User",
    "attributes": [
        {"name": "note"},
        {"name": "tier", "canonicalValues": ["gold", "silver"]},
        {"name": "grade", "canonicalValues": ["A", "B"], "caseExact": True},
        {"name": "badge", "mutability": "immutable"},
        {"name": "hired", "type": "dateTime", "mutability": "immutable"},
        {"name": "score", "type": "integer", "mutability": "readOnly"},
        {"name": "pin", "mutability": "writeOnly"},
        {"name": "required", "required": True},
        {
            "name": "desk",
            "type": "complex",
            "subAttributes": [
                {"name": "site", "canonicalValues": ["Paris", "Lyon"]},
                {"name": "serial", "mutability": "immutable"},
            ],
        },
    ],
}


@pytest.fixture
def rules(settings: Any) -> None:
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [DECLARATION]}


def rules_user(scim: ScimClient, name: str = "r@example.com", **values: Any) -> str:
    return provision(scim, name, **{RULES: {"required": "yes", **values}})


def patched(scim: ScimClient, user_id: str, *operations: dict[str, Any]) -> Any:
    return scim.patch(f"Users/{user_id}", patch_body(*operations))


def assert_error(response: Any, scim_type: str, *words: str) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == scim_type
    for word in words:
        assert word in response.json()["detail"]


def stored(user_id: str) -> dict[str, str]:
    rows = ScimExtensionValue.objects.filter(user_id=user_id)
    return {row.key.removeprefix(f"{RULES}:"): row.text for row in rows if row.text}


def version(user_id: str) -> int:
    return int(ScimUser.objects.get(pk=user_id).version)


# --- a schema URN as the PATCH path -----------------------------------------------------------


@pytest.mark.django_db
def test_bare_urn_path_replace_add_and_remove(rules: None, scim: ScimClient) -> None:
    user_id = rules_user(scim, note="n", pin="1234")
    response = patched(
        scim, user_id, {"op": "replace", "path": RULES, "value": {"note": "m", "tier": "gold"}}
    )
    assert response.status_code == 200, response.content
    # Attributes the value leaves out keep their values (RFC 7644 section 3.5.2.3).
    assert response.json()[RULES] == {"note": "m", "tier": "gold", "required": "yes"}
    response = patched(scim, user_id, {"op": "Add", "path": RULES, "value": {"grade": "A"}})
    assert response.json()[RULES]["grade"] == "A"
    assert stored(user_id)["pin"] == "1234"  # writeOnly: kept by PATCHes that do not name it
    # Removing the whole extension would remove a required attribute.
    assert_error(
        patched(scim, user_id, {"op": "remove", "path": RULES}), "invalidValue", "required"
    )
    assert scim.get(f"Users/{user_id}").json()[RULES]["grade"] == "A"


@pytest.mark.django_db
def test_bare_urn_remove_clears_every_value(settings: Any, scim: ScimClient) -> None:
    optional = {**DECLARATION, "attributes": DECLARATION["attributes"][:2]}  # type: ignore[index]
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [optional]}
    user_id = provision(scim, "b@example.com", **{RULES: {"note": "n", "tier": "silver"}})
    response = patched(scim, user_id, {"op": "remove", "path": RULES.upper()})
    assert response.status_code == 200, response.content
    assert RULES not in response.json() and RULES not in response.json()["schemas"]
    assert not ScimExtensionValue.objects.filter(user_id=user_id).exists()


@pytest.mark.django_db
def test_bare_urn_path_of_an_organization_extension(org: Organization, scim: ScimClient) -> None:
    CustomAttribute.objects.create(organization=org, name="region")
    CustomAttribute.objects.create(organization=org, name="floor", type="integer")
    own = f"urn:ietf:params:scim:schemas:extension:{org.slug}:2.0:User"
    user_id = provision(scim, "o@example.com", **{own: {"region": "EU"}})
    response = patched(scim, user_id, {"op": "add", "path": own, "value": {"floor": "3"}})
    assert response.json()[own] == {"region": "EU", "floor": 3}
    response = patched(scim, user_id, {"op": "replace", "path": own, "value": {"region": "US"}})
    assert response.json()[own] == {"region": "US", "floor": 3}
    response = patched(scim, user_id, {"op": "remove", "path": own})
    assert own not in response.json()


@pytest.mark.django_db
def test_bare_enterprise_urn_path(scim: ScimClient) -> None:
    user_id = provision(scim, "e@example.com", **{ENTERPRISE: {"division": "R&D"}})
    response = patched(
        scim, user_id, {"op": "replace", "path": ENTERPRISE, "value": {"department": "Ops"}}
    )
    assert response.json()[ENTERPRISE] == {"division": "R&D", "department": "Ops"}
    response = patched(scim, user_id, {"op": "remove", "path": ENTERPRISE})
    assert ENTERPRISE not in response.json()


# --- canonicalValues --------------------------------------------------------------------------


@pytest.mark.django_db
def test_canonical_values_on_post_put_and_patch(rules: None, scim: ScimClient) -> None:
    body = {"userName": "c@example.com", RULES: {"required": "y", "tier": "bronze"}}
    response = scim.post("Users", body)
    assert_error(response, "invalidValue", f"{RULES}:tier", '"gold", "silver"', "bronze")
    user_id = rules_user(scim, "c@example.com", tier="GOLD")  # caseExact false: any case
    put = {"userName": "c@example.com", RULES: {"required": "yes", "grade": "a"}}
    assert_error(scim.put(f"Users/{user_id}", put), "invalidValue", "grade")  # caseExact
    paths = [
        {"op": "replace", "path": f"{RULES}:tier", "value": "platinum"},
        {"op": "replace", "value": {f"{RULES}:tier": "platinum"}},
        {"op": "replace", "path": RULES, "value": {"tier": "platinum"}},
        {"op": "add", "path": f"{RULES}:desk.site", "value": "Rome"},  # a sub-attribute
    ]
    for operation in paths:
        assert_error(patched(scim, user_id, operation), "invalidValue"), operation
    good = patched(scim, user_id, {"op": "replace", "path": f"{RULES}:desk.site", "value": "Lyon"})
    assert good.json()[RULES]["desk"] == {"site": "Lyon"}
    assert scim.get(f"Users/{user_id}").json()[RULES]["tier"] == "GOLD"


@pytest.mark.django_db
def test_a_long_canonical_list_is_not_copied_whole_into_the_error(
    settings: Any, scim: ScimClient
) -> None:
    many = [f"code-{n:05}" for n in range(5000)]
    declared = {**DECLARATION, "attributes": [{"name": "code", "canonicalValues": many}]}
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [declared]}
    assert provision(scim, "ok@example.com", **{RULES: {"code": "CODE-04999"}})
    response = scim.post("Users", {"userName": "c@example.com", RULES: {"code": "nope"}})
    assert_error(response, "invalidValue", f"{RULES}:code", '"code-00000"', "nope")
    assert len(response.json()["detail"]) < 1000


@pytest.mark.django_db
def test_canonical_values_in_bulk_operations(rules: None, scim: ScimClient) -> None:
    user_id = rules_user(scim, tier="gold")
    results = run(
        scim,
        post_user("a", "bulk@example.com", **{RULES: {"required": "y", "tier": "tin"}}),
        patch(f"/Users/{user_id}", {"op": "replace", "path": f"{RULES}:tier", "value": "tin"}),
        patch(f"/Users/{user_id}", {"op": "replace", "path": f"{RULES}:tier", "value": "silver"}),
    )
    assert "tin" in error_of(results[0], 400, "invalidValue")
    assert "tin" in error_of(results[1], 400, "invalidValue")
    assert results[2]["status"] == "200"
    assert scim.get(f"Users/{user_id}").json()[RULES]["tier"] == "silver"


# --- mutability -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_immutable_is_set_once_then_refuses_changes(rules: None, scim: ScimClient) -> None:
    user_id = rules_user(scim, badge="B-1", hired="2024-01-01T00:00:00Z")
    at = version(user_id)
    refused = [
        {"op": "replace", "path": f"{RULES}:badge", "value": "B-2"},
        {"op": "replace", "value": {f"{RULES}:badge": "B-2"}},  # Entra's path-less URN key
        {"op": "replace", "path": RULES, "value": {"badge": "B-2"}},
        {"op": "remove", "path": f"{RULES}:badge"},
        {"op": "replace", "value": {f"{RULES}:badge": None}},
    ]
    for operation in refused:
        assert_error(patched(scim, user_id, operation), "mutability", "badge"), operation
    # The same value again (the same instant, spelled otherwise) is no change at all.
    same = {f"{RULES}:badge": "b-1", f"{RULES}:hired": "2024-01-01T01:00:00+01:00"}
    assert patched(scim, user_id, {"op": "replace", "value": same}).status_code == 200
    assert version(user_id) == at
    assert stored(user_id)["badge"] == "B-1"
    put = {"userName": "r@example.com", RULES: {"required": "yes", "badge": "B-9"}}
    assert_error(scim.put(f"Users/{user_id}", put), "mutability", "badge")
    # A PUT that leaves it out keeps it (RFC 7644 section 3.5.1: not asserted).
    put = {"userName": "r@example.com", RULES: {"required": "yes"}}
    assert scim.put(f"Users/{user_id}", put).json()[RULES]["badge"] == "B-1"


@pytest.mark.django_db
def test_immutable_may_be_set_while_it_has_no_value(rules: None, scim: ScimClient) -> None:
    user_id = rules_user(scim)
    response = patched(scim, user_id, {"op": "add", "value": {f"{RULES}:badge": "B-3"}})
    assert response.json()[RULES]["badge"] == "B-3"
    serial = {"op": "add", "path": f"{RULES}:desk.serial", "value": "S1"}
    assert patched(scim, user_id, serial).json()[RULES]["desk"] == {"serial": "S1"}
    # A sub-attribute's own mutability: the site may change, the serial may not.
    site = {"op": "add", "path": f"{RULES}:desk", "value": {"site": "Paris"}}
    assert patched(scim, user_id, site).json()[RULES]["desk"] == {"site": "Paris", "serial": "S1"}
    serial["value"] = "S2"
    assert_error(patched(scim, user_id, serial), "mutability", "desk.serial")


@pytest.mark.django_db
def test_read_only_input_is_ignored_and_write_only_never_returned(
    rules: None, scim: ScimClient
) -> None:
    user_id = rules_user(scim, score=99, pin="1234")
    doc = scim.get(f"Users/{user_id}").json()
    assert "score" not in doc[RULES] and "pin" not in doc[RULES]
    assert "pin" in stored(user_id) and "score" not in stored(user_id)
    # A value the server set (the host, say) stays whatever PUT sends.
    ScimExtensionValue.objects.create(
        organization=ScimUser.objects.get(pk=user_id).organization,
        user_id=user_id,
        key=f"{RULES}:score",
        number=7,
    )
    put = {"userName": "r@example.com", RULES: {"required": "yes", "score": 1}}
    doc = scim.put(f"Users/{user_id}", put).json()
    assert doc[RULES]["score"] == 7 and "pin" not in doc[RULES]
    assert stored(user_id)["pin"] == "1234"  # a PUT cannot send it back, so leaving it out keeps it
    change = {"op": "replace", "path": f"{RULES}:score", "value": 8}
    assert_error(patched(scim, user_id, change), "mutability", "score")
    removed = patched(scim, user_id, {"op": "remove", "path": f"{RULES}:pin"})
    assert removed.status_code == 200 and "pin" not in stored(user_id)


@pytest.mark.django_db
def test_the_adapter_receives_what_is_stored(
    rules: None, scim: ScimClient, monkeypatch: Any
) -> None:
    from axon_scim.adapter import AccountAdapter

    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(
        AccountAdapter, "apply_extension_values", lambda self, a, u, values: seen.append(values)
    )
    user_id = rules_user(scim, score=5, pin="1234", badge="B", hired="2024-01-01T01:00:00+01:00")
    stored_values = {
        "required": "yes",
        "pin": "1234",
        "badge": "B",
        "hired": "2024-01-01T00:00:00Z",
    }
    assert seen[-1][RULES] == stored_values  # no readOnly "score": the client cannot set it
    put = {"userName": "r@example.com", RULES: {"required": "yes", "score": 6}}
    assert scim.put(f"Users/{user_id}", put).status_code == 200
    assert seen[-1][RULES] == stored_values  # what the PUT left out and the server kept


def test_the_check_validates_mutability_and_canonical_values(settings: Any) -> None:
    bad_attributes = [
        {"name": "a", "mutability": "sometimes"},
        {"name": "b", "type": "integer", "canonicalValues": ["1"]},
        {
            "name": "c",
            "type": "complex",
            "multiValued": True,
            "subAttributes": [{"name": "d", "mutability": "immutable"}],
        },
    ]
    settings.AXON_SCIM = {
        "SCHEMA_EXTENSIONS": [{"urn": RULES, "resourceType": "User", "attributes": bad_attributes}]
    }
    messages = [e.msg for e in run_checks() if e.id == "axon_scim.E020"]
    assert len(messages) == 3, messages
    assert any('"mutability"' in m and "readOnly" in m for m in messages)
    assert any('"canonicalValues"' in m for m in messages)
    assert any("readWrite" in m for m in messages)
    settings.AXON_SCIM = {"SCHEMA_EXTENSIONS": [DECLARATION]}
    assert not [e for e in run_checks() if e.id == "axon_scim.E020"]


# --- undeclared attributes on PATCH -----------------------------------------------------------


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("sequence")


@pytest.mark.django_db
def test_patch_names_its_ignored_attributes_in_the_audit_event(
    rules: None, scim: ScimClient
) -> None:
    user_id = rules_user(scim)
    response = patched(
        scim,
        user_id,
        {"op": "Add", "path": f"{ENTRA}:region", "value": "EU"},
        {"op": "replace", "value": {"shoeSize": 9, f"{RULES}:note": "n"}},
        {"op": "replace", "path": RULES, "value": {"nickname": "x"}},
    )
    assert response.status_code == 200, response.content
    assert response.json()[RULES]["note"] == "n"
    assert last("user.updated").after["ignoredAttributes"] == [
        "shoeSize",
        f"{RULES}:nickname",
        f"{ENTRA}:region",
    ]


@pytest.mark.django_db
def test_a_patch_of_ignored_attributes_only_is_a_no_op_noted_once(scim: ScimClient) -> None:
    user_id = provision(scim, "n@example.com")
    at, updates = version(user_id), AuditEvent.objects.filter(action="user.updated").count()
    operation = {"op": "replace", "path": f"{ENTRA}:region", "value": "EU"}
    for _ in range(3):  # Entra resends what it finds missing on every cycle
        assert patched(scim, user_id, operation).status_code == 200
    assert version(user_id) == at
    assert AuditEvent.objects.filter(action="user.updated").count() == updates
    notes = AuditEvent.objects.filter(action="user.ignored_attributes")
    assert [(n.resource_id, n.after) for n in notes] == [
        (user_id, {"ignoredAttributes": [f"{ENTRA}:region"]})
    ]
    other = {"op": "remove", "path": "urn:okta:custom:1.0:costCode"}
    assert patched(scim, user_id, other).status_code == 200
    assert AuditEvent.objects.filter(action="user.ignored_attributes").count() == 2


@pytest.mark.django_db
def test_bulk_operations_name_their_ignored_attributes(scim: ScimClient) -> None:
    user_id = provision(scim, "k@example.com")
    results = run(
        scim,
        post_user("a", "bulk@example.com", shoeSize=9),
        patch(
            f"/Users/{user_id}",
            {"op": "replace", "path": "displayName", "value": "K"},
            {"op": "add", "path": f"{ENTRA}:region", "value": "EU"},
        ),
    )
    assert [r["status"] for r in results] == ["201", "200"]
    assert last("user.created").after["ignoredAttributes"] == ["shoeSize"]
    assert last("user.updated").after["ignoredAttributes"] == [f"{ENTRA}:region"]
