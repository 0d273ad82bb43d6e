"""SCIM PATCH (axon_scim.protocol.patch): parsing, applying, member changes; no database.

Request bodies are the ones Okta, Microsoft Entra ID and OneLogin document or
are known to send.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from axon_scim.protocol import constants as c
from axon_scim.protocol.errors import (
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    MutabilityError,
    NoTargetError,
    ScimError,
    TooManyError,
)
from axon_scim.protocol.filter import AttrPath, Compare, Or, PatchPath
from axon_scim.protocol.patch import (
    MemberChange,
    PatchOperation,
    apply_patch,
    parse_patch_request,
    split_member_operations,
)
from axon_scim.protocol.schemas import GROUP_RESOURCE, USER_RESOURCE, ResourceType

ENTERPRISE = c.ENTERPRISE_USER_SCHEMA
USER_ID = "2819c223-7f76-453a-919d-413861904646"
GROUP_ID = "e9e30dba-f08f-4109-8486-d5c6a331660a"
BASE = "https://portal.example.com/scim/v2"


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [c.PATCH_OP], "Operations": list(operations)}


def parse(
    *operations: dict[str, Any], resource: ResourceType = USER_RESOURCE
) -> list[PatchOperation]:
    return parse_patch_request(body(*operations), resource, max_operations=50)


def patch_user(document: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    return apply_patch(document, parse(*operations), USER_RESOURCE)


def path(name: str, sub: str | None = None, urn: str | None = None) -> PatchPath:
    return PatchPath(AttrPath(urn, name, sub))


def user_doc() -> dict[str, Any]:
    """A user as the server renders it."""
    return {
        "schemas": [c.USER_SCHEMA, ENTERPRISE],
        "id": USER_ID,
        "externalId": "00ujl29u0le5T6Aj10h7",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": True,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@home.example.org", "type": "home"},
        ],
        "groups": [
            {
                "value": GROUP_ID,
                "display": "Engineering",
                "$ref": f"{BASE}/Groups/{GROUP_ID}",
                "type": "direct",
            }
        ],
        ENTERPRISE: {
            "department": "Sales",
            "manager": {"value": "m-1", "displayName": "The Boss", "$ref": f"{BASE}/Users/m-1"},
        },
        "meta": {
            "resourceType": "User",
            "created": "2024-01-01T00:00:00Z",
            "lastModified": "2024-01-02T00:00:00Z",
            "version": 'W/"3"',
            "location": f"{BASE}/Users/{USER_ID}",
        },
    }


def group_doc() -> dict[str, Any]:
    """A group as the server renders it for PATCH: members are never loaded."""
    return {
        "schemas": [c.GROUP_SCHEMA],
        "id": GROUP_ID,
        "displayName": "Engineering",
        "externalId": "okta-group-1",
        "meta": {
            "resourceType": "Group",
            "version": 'W/"7"',
            "location": f"{BASE}/Groups/{GROUP_ID}",
        },
    }


# --- parsing: IdP request shapes --------------------------------------------------------------


def test_entra_disable_user_with_string_boolean() -> None:
    ops = parse({"op": "Replace", "path": "active", "value": "False"})
    assert ops == [PatchOperation("replace", path("active"), False)]
    assert (
        patch_user(user_doc(), {"op": "Replace", "path": "active", "value": "False"})["active"]
        is False
    )


@pytest.mark.parametrize("op", ["add", "ADD", "Add", "Replace", "REPLACE", "replace"])
def test_ops_are_case_insensitive(op: str) -> None:
    assert parse({"op": op, "path": "title", "value": "CTO"})[0].op == op.lower()


def test_operations_key_and_op_members_are_case_insensitive() -> None:
    request = {"schemas": [c.PATCH_OP], "operations": [{"OP": "remove", "Path": "title"}]}
    assert parse_patch_request(request, USER_RESOURCE, max_operations=5) == [
        PatchOperation("remove", path("title"), None)
    ]


def test_okta_deactivate_path_less() -> None:
    ops = parse({"op": "replace", "value": {"active": False}})
    assert ops == [PatchOperation("replace", path("active"), False)]


def test_entra_path_less_replace_with_dotted_and_urn_keys() -> None:
    ops = parse(
        {
            "op": "Replace",
            "value": {
                "name.givenName": "Barb",
                f"{ENTERPRISE}:manager": "m-2",
                f"{ENTERPRISE}:department": "Engineering",
                "DisplayName": "Barb Jensen",
                "urn:ietf:params:scim:schemas:extension:microsoft:2.0:User:foo": "ignored",
            },
        }
    )
    assert ops == [
        PatchOperation("replace", path("name", "givenName"), "Barb"),
        PatchOperation("replace", path("manager", "value", urn=ENTERPRISE), "m-2"),
        PatchOperation("replace", path("department", urn=ENTERPRISE), "Engineering"),
        PatchOperation("replace", path("displayName"), "Barb Jensen"),
    ]
    result = apply_patch(user_doc(), ops, USER_RESOURCE)
    assert result["name"] == {"givenName": "Barb", "familyName": "Jensen"}
    assert result["displayName"] == "Barb Jensen"
    # A new manager id drops the old manager's displayName and $ref.
    assert result[ENTERPRISE] == {"department": "Engineering", "manager": {"value": "m-2"}}


def test_path_less_add_with_nested_extension_and_lists() -> None:
    # RFC 7644 section 3.5.2.1's example, plus the extension as a nested object.
    ops = parse(
        {
            "op": "add",
            "value": {
                "emails": [{"value": "babs@jensen.org", "type": "home"}],
                "nickname": "Babs",
                ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m-1"}},
            },
        }
    )
    assert ops == [
        PatchOperation("add", path("emails"), [{"value": "babs@jensen.org", "type": "home"}]),
        PatchOperation("add", path("nickName"), "Babs"),
        PatchOperation("add", path("employeeNumber", urn=ENTERPRISE), "701984"),
        PatchOperation("add", path("manager", "value", urn=ENTERPRISE), "m-1"),
    ]


def test_paths_come_back_in_canonical_spelling() -> None:
    ops = parse(
        {"op": "replace", "path": 'EMAILS[TYPE eq "work"].VALUE', "value": "x@y"},
        {"op": "replace", "path": f"{ENTERPRISE.upper()}:DEPARTMENT", "value": "D"},
        {"op": "replace", "path": f"{c.USER_SCHEMA}:userName", "value": "u"},
    )
    assert ops == [
        PatchOperation(
            "replace",
            PatchPath(
                AttrPath(None, "emails"), Compare(AttrPath(None, "type"), "eq", "work"), "value"
            ),
            "x@y",
        ),
        PatchOperation("replace", path("department", urn=ENTERPRISE), "D"),
        PatchOperation("replace", path("userName"), "u"),
    ]


def test_values_are_normalized_for_their_target() -> None:
    ops = parse(
        {
            "op": "add",
            "path": "emails",
            "value": {"value": "a@x", "type": "work", "primary": "true"},
        },
        {"op": "replace", "path": 'emails[type eq "work"].primary', "value": "True"},
        {"op": "add", "path": f"{ENTERPRISE}:employeeNumber", "value": 42},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "m-9"},
    )
    assert [op.value for op in ops] == [
        [{"value": "a@x", "type": "work", "primary": True}],
        True,
        "42",
        {"value": "m-9"},
    ]


def test_path_less_key_that_is_a_value_filter_path() -> None:
    ops = parse(
        {"op": "replace", "value": {'emails[type eq "work"].value': "new@x", "title": "CTO"}}
    )
    assert [op.path for op in ops][1] == path("title")
    result = apply_patch(user_doc(), ops, USER_RESOURCE)
    assert result["emails"][0] == {"value": "new@x", "type": "work", "primary": True}
    assert result["title"] == "CTO"


def test_extension_urn_as_path() -> None:
    result = patch_user(
        user_doc(), {"op": "replace", "path": ENTERPRISE, "value": {"department": "Ops"}}
    )
    assert result[ENTERPRISE]["department"] == "Ops"
    cleared = patch_user(user_doc(), {"op": "remove", "path": ENTERPRISE})
    assert ENTERPRISE not in cleared


def test_undeclared_urn_attributes_are_dropped_and_named() -> None:
    """Entra sends custom attributes by URN path, maybe before the portal declares them."""
    ignored: list[str] = []
    custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    operations = parse_patch_request(
        body(
            {"op": "remove", "path": "urn:okta:custom:1.0:costCode"},
            {"op": "Add", "path": f"{custom}:region", "value": "EU"},
            {"op": "replace", "path": custom, "value": {"region": "EU"}},
            {"op": "replace", "path": f'{custom}:desks[site eq "a"].floor', "value": 1},
            {"op": "replace", "value": {f"{custom}:tier": "gold", "title": "Boss"}},
            {"op": "replace", "path": ENTERPRISE, "value": {"department": "Ops", "x": 1}},
        ),
        USER_RESOURCE,
        max_operations=10,
        ignored=ignored,
    )
    assert [(o.op, o.path) for o in operations] == [
        ("replace", path("title")),
        ("replace", path("department", urn=ENTERPRISE)),
    ]
    assert ignored == [
        "urn:okta:custom:1.0:costCode",
        f"{custom}:region",
        # The bare URN of an unknown schema reads as its last segment's attribute.
        custom,
        f"{custom}:desks",
        f"{custom}:tier",
        f"{ENTERPRISE}:x",
    ]


# --- null handling ---------------------------------------------------------------------------


def test_replace_with_null_removes() -> None:
    ops = parse({"op": "replace", "path": "displayName", "value": None})
    assert ops == [PatchOperation("remove", path("displayName"), None)]
    assert "displayName" not in apply_patch(user_doc(), ops, USER_RESOURCE)


def test_add_null_to_a_multi_valued_attribute_is_nothing() -> None:
    assert parse({"op": "add", "path": "emails", "value": None}) == []
    assert parse({"op": "add", "value": {"phoneNumbers": None}}) == []


def test_path_less_nulls_remove_attributes_and_sub_attributes() -> None:
    result = patch_user(
        user_doc(),
        {
            "op": "replace",
            "value": {
                "displayName": None,
                "name.givenName": None,
                f"{ENTERPRISE}:department": None,
            },
        },
    )
    assert "displayName" not in result
    assert result["name"] == {"familyName": "Jensen"}
    assert "department" not in result[ENTERPRISE]


def test_removing_the_last_sub_attribute_removes_the_complex_attribute() -> None:
    doc = user_doc()
    doc["name"] = {"givenName": "Barbara"}
    assert "name" not in patch_user(doc, {"op": "remove", "path": "name.givenName"})


# --- the enterprise manager ------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": {"value": ""}},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": {"value": ""}},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager.value", "value": ""},
        {"op": "Replace", "value": {f"{ENTERPRISE}:manager": {"value": ""}}},
        {"op": "Replace", "value": {ENTERPRISE: {"manager": None}}},
        {"op": "Replace", "value": {f"{ENTERPRISE}:manager.value": ""}},
        {"op": "Replace", "value": {f"{ENTERPRISE}:manager.value": None}},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager.value", "value": None},
        {"op": "Remove", "path": f"{ENTERPRISE}:manager"},
    ],
)
def test_clearing_the_manager(operation: dict[str, Any]) -> None:
    ops = parse(operation)
    assert ops == [PatchOperation("remove", path("manager", urn=ENTERPRISE), None)]
    assert apply_patch(user_doc(), ops, USER_RESOURCE)[ENTERPRISE] == {"department": "Sales"}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": "m-2"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": {"value": "m-2"}},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": [{"$ref": None, "value": "m-2"}]},
        {"op": "replace", "path": f"{ENTERPRISE}:manager.value", "value": "m-2"},
        {"op": "replace", "value": {f"{ENTERPRISE}:manager": "m-2"}},
    ],
)
def test_setting_the_manager(operation: dict[str, Any]) -> None:
    result = patch_user(user_doc(), operation)
    assert result[ENTERPRISE]["manager"] == {"value": "m-2"}


def test_repeating_the_manager_keeps_its_display_data() -> None:
    result = patch_user(
        user_doc(), {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "m-1"}
    )
    assert result == user_doc()


def test_manager_display_name_is_read_only() -> None:
    with pytest.raises(MutabilityError):
        patch_user(
            user_doc(), {"op": "replace", "path": f"{ENTERPRISE}:manager.displayName", "value": "X"}
        )


def test_removing_the_last_extension_attribute_drops_the_extension_key() -> None:
    doc = user_doc()
    result = patch_user(
        doc,
        {"op": "remove", "path": f"{ENTERPRISE}:manager"},
        {"op": "remove", "path": f"{ENTERPRISE}:department"},
    )
    assert ENTERPRISE not in result
    added = patch_user(result, {"op": "add", "path": f"{ENTERPRISE}:division", "value": "R&D"})
    assert added[ENTERPRISE] == {"division": "R&D"}


# --- add, replace, remove semantics (RFC 7644 sections 3.5.2.1-3.5.2.3) ------------------------


def test_add_to_a_multi_valued_attribute_appends_without_duplicates() -> None:
    result = patch_user(
        user_doc(),
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        },
        {"op": "add", "path": "emails", "value": [{"value": "b@other.org", "type": "other"}]},
    )
    assert result["emails"] == [*user_doc()["emails"], {"value": "b@other.org", "type": "other"}]


def test_added_primary_value_takes_primary_from_the_others() -> None:
    result = patch_user(
        user_doc(), {"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": True}]}
    )
    assert [e.get("primary") for e in result["emails"]] == [False, None, True]


def test_add_to_a_simple_attribute_replaces_and_to_a_complex_one_merges() -> None:
    result = patch_user(
        user_doc(),
        {"op": "add", "path": "displayName", "value": "B"},
        {"op": "add", "path": "name", "value": {"middleName": "Jane"}},
    )
    assert result["displayName"] == "B"
    assert result["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}


def test_replace_a_multi_valued_attribute_without_filter_replaces_the_list() -> None:
    result = patch_user(
        user_doc(), {"op": "replace", "path": "emails", "value": [{"value": "only@x"}]}
    )
    assert result["emails"] == [{"value": "only@x"}]
    emptied = patch_user(user_doc(), {"op": "replace", "path": "emails", "value": []})
    assert "emails" not in emptied


def test_replace_complex_attribute_merges_sub_attributes() -> None:
    result = patch_user(
        user_doc(), {"op": "replace", "path": "name", "value": {"familyName": "Smith"}}
    )
    assert result["name"] == {"givenName": "Barbara", "familyName": "Smith"}


def test_replace_with_a_value_filter_merges_into_matches() -> None:
    result = patch_user(
        user_doc(),
        {
            "op": "replace",
            "path": 'emails[type eq "home"]',
            "value": {"value": "new@home.org", "primary": True},
        },
    )
    assert result["emails"] == [
        {"value": "bjensen@example.com", "type": "work", "primary": False},
        {"value": "new@home.org", "type": "home", "primary": True},
    ]


def test_replace_filtered_sub_attribute() -> None:
    result = patch_user(
        user_doc(), {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"}
    )
    assert result["emails"][0] == {"value": "w@x", "type": "work", "primary": True}
    assert result["emails"][1] == user_doc()["emails"][1]


def test_entra_add_filtered_value_updates_an_existing_match() -> None:
    result = patch_user(
        user_doc(), {"op": "Add", "path": 'emails[type eq "work"].value', "value": "x@y.org"}
    )
    assert result["emails"][0]["value"] == "x@y.org"
    assert len(result["emails"]) == 2


@pytest.mark.parametrize("op", ["Add", "Replace"])
def test_entra_filtered_value_with_no_match_creates_the_value(op: str) -> None:
    doc = user_doc()
    del doc["emails"]
    result = patch_user(doc, {"op": op, "path": 'emails[type eq "work"].value', "value": "x@y.org"})
    assert result["emails"] == [{"type": "work", "value": "x@y.org"}]


def test_conjunction_of_equalities_creates_a_value_with_all_fields() -> None:
    result = patch_user(
        user_doc(),
        {
            "op": "replace",
            "path": 'phoneNumbers[type eq "mobile" and primary eq true].value',
            "value": "+1 555",
        },
        {"op": "replace", "path": 'addresses[type eq "work"]', "value": {"locality": "Paris"}},
    )
    assert result["phoneNumbers"] == [{"type": "mobile", "primary": True, "value": "+1 555"}]
    assert result["addresses"] == [{"type": "work", "locality": "Paris"}]


@pytest.mark.parametrize(
    "path_text",
    [
        'emails[value co "nobody"].value',
        'emails[type eq "work" or type eq "other"].display',
        'emails[not (type eq "home")].display',
        'emails[type eq "work" and type eq "home"].value',
        "emails[display pr].display",
    ],
)
def test_filtered_replace_with_no_match_and_no_equalities_is_no_target(path_text: str) -> None:
    doc = user_doc()
    doc["emails"] = [{"value": "a@x", "type": "home"}]
    with pytest.raises(NoTargetError) as info:
        patch_user(doc, {"op": "replace", "path": path_text, "value": "v"})
    assert info.value.scim_type == c.SCIM_TYPE_NO_TARGET


def test_remove_with_a_filter_removes_matching_values() -> None:
    result = patch_user(user_doc(), {"op": "remove", "path": 'emails[type eq "home"]'})
    assert result["emails"] == [user_doc()["emails"][0]]


def test_remove_with_a_filter_matching_nothing_changes_nothing() -> None:
    doc = user_doc()
    assert patch_user(doc, {"op": "remove", "path": 'emails[type eq "other"]'}) == doc
    assert patch_user(doc, {"op": "remove", "path": 'phoneNumbers[type eq "work"]'}) == doc


def test_remove_filtered_sub_attribute() -> None:
    result = patch_user(user_doc(), {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert result["emails"][0] == {"value": "bjensen@example.com", "type": "work"}


def test_removing_every_value_removes_the_attribute() -> None:
    result = patch_user(
        user_doc(), {"op": "remove", "path": 'emails[value ew "example.com" or type eq "home"]'}
    )
    assert "emails" not in result


def test_remove_a_whole_attribute_and_an_absent_one() -> None:
    result = patch_user(
        user_doc(), {"op": "remove", "path": "emails"}, {"op": "remove", "path": "nickName"}
    )
    assert "emails" not in result
    assert "nickName" not in result


def test_remove_with_a_value_list_removes_listed_values() -> None:
    result = patch_user(
        user_doc(),
        {
            "op": "remove",
            "path": "emails",
            "value": [{"value": "BABS@home.example.org"}, {"value": "z@z"}],
        },
    )
    assert result["emails"] == [user_doc()["emails"][0]]


def test_password_passes_through() -> None:
    result = patch_user(user_doc(), {"op": "replace", "path": "password", "value": "s3cret!"})
    assert result["password"] == "s3cret!"


def test_user_name_cannot_be_removed() -> None:
    for operation in (
        {"op": "remove", "path": "userName"},
        {"op": "replace", "path": "userName", "value": None},
        {"op": "replace", "path": "userName", "value": "  "},
    ):
        with pytest.raises(InvalidValueError) as info:
            patch_user(user_doc(), operation)
        assert "userName" in info.value.detail


def test_group_display_name_cannot_be_removed() -> None:
    with pytest.raises(InvalidValueError):
        apply_patch(
            group_doc(),
            parse({"op": "remove", "path": "displayName"}, resource=GROUP_RESOURCE),
            GROUP_RESOURCE,
        )


# --- read-only attributes ----------------------------------------------------------------------


def test_okta_group_rename_repeating_its_id() -> None:
    operations = parse(
        {"op": "replace", "value": {"id": GROUP_ID, "displayName": "Engineering (new)"}},
        resource=GROUP_RESOURCE,
    )
    others, members = split_member_operations(operations)
    assert members == []
    result = apply_patch(group_doc(), others, GROUP_RESOURCE)
    assert result == {**group_doc(), "displayName": "Engineering (new)"}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": "another-id"},
        {"op": "replace", "value": {"id": "another-id", "displayName": "X"}},
        {"op": "remove", "path": "id"},
        {"op": "add", "path": "groups", "value": [{"value": "another-group"}]},
        {"op": "replace", "path": "groups", "value": []},
        {"op": "remove", "path": "groups"},
    ],
)
def test_changing_read_only_attributes_is_a_mutability_error(operation: dict[str, Any]) -> None:
    with pytest.raises(MutabilityError) as info:
        patch_user(user_doc(), operation)
    assert info.value.scim_type == c.SCIM_TYPE_MUTABILITY


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": USER_ID},
        {"op": "add", "path": "groups", "value": [{"value": GROUP_ID}]},
        {"op": "replace", "path": "groups", "value": [{"value": GROUP_ID, "display": "Eng"}]},
        {"op": "replace", "path": "meta", "value": {"version": 'W/"99"'}},
        {"op": "remove", "path": "meta"},
        {"op": "replace", "path": "meta.lastModified", "value": "2030-01-01T00:00:00Z"},
        {"op": "replace", "value": {"meta": {"resourceType": "Other"}, "id": USER_ID}},
    ],
)
def test_read_only_operations_that_change_nothing_are_ignored(operation: dict[str, Any]) -> None:
    assert patch_user(user_doc(), operation) == user_doc()


# --- atomicity -----------------------------------------------------------------------------------


def test_a_failing_operation_leaves_the_input_unchanged() -> None:
    doc = user_doc()
    snapshot = copy.deepcopy(doc)
    operations = parse(
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "emails", "value": [{"value": "new@x", "primary": True}]},
        {"op": "replace", "path": "id", "value": "hijack"},
    )
    with pytest.raises(MutabilityError) as info:
        apply_patch(doc, operations, USER_RESOURCE)
    assert info.value.detail == "'id' is read-only."
    assert doc == snapshot


def test_a_successful_patch_returns_a_new_document() -> None:
    doc = user_doc()
    result = patch_user(
        doc, {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"}
    )
    assert doc == user_doc()
    assert result["emails"] is not doc["emails"]


def test_operations_apply_in_order() -> None:
    result = patch_user(
        user_doc(),
        {"op": "remove", "path": "emails"},
        {"op": "add", "path": "emails", "value": [{"value": "a@x"}]},
        {"op": "replace", "path": 'emails[value eq "a@x"].type', "value": "work"},
    )
    assert result["emails"] == [{"value": "a@x", "type": "work"}]


# --- group members --------------------------------------------------------------------------------


def members(*operations: dict[str, Any]) -> tuple[list[PatchOperation], list[MemberChange]]:
    return split_member_operations(parse(*operations, resource=GROUP_RESOURCE))


def test_okta_add_and_remove_member() -> None:
    _, changes = members(
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "u1", "display": "test.user@okta.local"}],
        },
        {"op": "remove", "path": 'members[value eq "u2"]'},
    )
    assert changes == [MemberChange("add", ("u1",)), MemberChange("remove", ("u2",))]


def test_entra_add_and_remove_members_with_value_lists() -> None:
    _, changes = members(
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": "u1"}, {"$ref": None, "value": "u2"}],
        },
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "u3"}]},
    )
    assert changes == [MemberChange("add", ("u1", "u2")), MemberChange("remove", ("u3",))]


def test_onelogin_remove_members_with_a_value_list() -> None:
    _, changes = members(
        {"op": "remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}
    )
    assert changes == [MemberChange("remove", ("u1", "u2"))]


def test_remove_members_with_an_or_filter() -> None:
    _, changes = members(
        {"op": "remove", "path": 'members[value eq "a" or value eq "b" or value eq "a"]'}
    )
    assert changes == [MemberChange("remove", ("a", "b"))]


def test_remove_all_members_and_replace_members() -> None:
    _, changes = members(
        {"op": "remove", "path": "members"},
        {"op": "replace", "path": "members", "value": [{"value": "u1"}, "u2"]},
        {"op": "replace", "path": "members", "value": []},
        {"op": "replace", "path": "members", "value": None},
    )
    assert changes == [
        MemberChange("remove_all", ()),
        MemberChange("replace", ("u1", "u2")),
        MemberChange("replace", ()),
        MemberChange("remove_all", ()),
    ]


def test_path_less_members_and_bare_ids() -> None:
    others, changes = members(
        {"op": "add", "value": {"members": [{"value": "u1"}], "displayName": "Renamed"}},
        {"op": "add", "path": "members", "value": ["u2", "u2"]},
    )
    assert changes == [MemberChange("add", ("u1",)), MemberChange("add", ("u2",))]
    assert others == [PatchOperation("add", path("displayName"), "Renamed")]


def test_member_changes_are_separated_from_other_operations_in_order() -> None:
    others, changes = members(
        {"op": "replace", "path": "displayName", "value": "New"},
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "replace", "path": "externalId", "value": "x-1"},
    )
    assert [op.path for op in others] == [path("displayName"), path("externalId")]
    assert changes == [MemberChange("add", ("u1",))]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": 'members[display eq "Alice"]'},
        {"op": "remove", "path": 'members[value ne "u1"]'},
        {"op": "remove", "path": 'members[value eq "u1" and type eq "User"]'},
        {"op": "remove", "path": 'members[value eq "u1"].display'},
        {"op": "add", "path": 'members[value eq "u1"]', "value": {"value": "u1"}},
        {"op": "replace", "path": "members.value", "value": "u1"},
    ],
)
def test_unsupported_member_paths_are_invalid_path(operation: dict[str, Any]) -> None:
    with pytest.raises(InvalidPathError) as info:
        members(operation)
    assert info.value.scim_type == c.SCIM_TYPE_INVALID_PATH
    assert "member" in info.value.detail.lower()


@pytest.mark.parametrize(
    "value",
    [[{"display": "no id"}], [{"value": ""}], [{"value": "u1"}, {"type": "User"}]],
)
def test_members_need_ids(value: Any) -> None:
    with pytest.raises(InvalidValueError):
        members({"op": "add", "path": "members", "value": value})


def test_split_leaves_the_filter_tree_of_a_canonical_members_path() -> None:
    operation = PatchOperation(
        "remove",
        PatchPath(
            AttrPath(None, "members"),
            Or(
                Compare(AttrPath(None, "value"), "eq", "a"),
                Compare(AttrPath(None, "value"), "eq", 7),
            ),
        ),
        None,
    )
    assert split_member_operations([operation]) == ([], [MemberChange("remove", ("a", "7"))])


# --- bad requests ---------------------------------------------------------------------------------


BAD_REQUESTS: list[tuple[Any, type[ScimError], str]] = [
    ([], InvalidSyntaxError, c.SCIM_TYPE_INVALID_SYNTAX),
    (
        {"Operations": [{"op": "remove", "path": "title"}]},
        InvalidSyntaxError,
        c.SCIM_TYPE_INVALID_SYNTAX,
    ),
    (
        {"schemas": [c.USER_SCHEMA], "Operations": [{"op": "remove", "path": "title"}]},
        InvalidSyntaxError,
        "invalidSyntax",
    ),
    (
        {"schemas": c.PATCH_OP, "Operations": [{"op": "remove", "path": "title"}]},
        InvalidSyntaxError,
        "invalidSyntax",
    ),
    ({"schemas": [c.PATCH_OP]}, InvalidSyntaxError, c.SCIM_TYPE_INVALID_SYNTAX),
    ({"schemas": [c.PATCH_OP], "Operations": []}, InvalidSyntaxError, c.SCIM_TYPE_INVALID_SYNTAX),
    (
        {"schemas": [c.PATCH_OP], "Operations": {"op": "add"}},
        InvalidSyntaxError,
        c.SCIM_TYPE_INVALID_SYNTAX,
    ),
    (
        {"schemas": [c.PATCH_OP], "Operations": ["remove title"]},
        InvalidSyntaxError,
        "invalidSyntax",
    ),
    (
        body({"op": "move", "path": "title", "value": "x"}),
        InvalidSyntaxError,
        c.SCIM_TYPE_INVALID_SYNTAX,
    ),
    (
        body({"op": "copy", "from": "title", "path": "nickName"}),
        InvalidSyntaxError,
        "invalidSyntax",
    ),
    (body({"path": "title", "value": "x"}), InvalidSyntaxError, c.SCIM_TYPE_INVALID_SYNTAX),
    (
        body({"op": 1, "path": "title", "value": "x"}),
        InvalidSyntaxError,
        c.SCIM_TYPE_INVALID_SYNTAX,
    ),
    (body({"op": "remove"}), NoTargetError, c.SCIM_TYPE_NO_TARGET),
    (body({"op": "Remove", "path": ""}), NoTargetError, c.SCIM_TYPE_NO_TARGET),
    (body({"op": "add", "path": "title"}), InvalidValueError, c.SCIM_TYPE_INVALID_VALUE),
    (body({"op": "replace"}), InvalidValueError, c.SCIM_TYPE_INVALID_VALUE),
    (body({"op": "replace", "value": "Babs"}), InvalidValueError, c.SCIM_TYPE_INVALID_VALUE),
    (
        body({"op": "replace", "value": [{"active": False}]}),
        InvalidValueError,
        c.SCIM_TYPE_INVALID_VALUE,
    ),
    (
        body({"op": "replace", "path": "active", "value": "maybe"}),
        InvalidValueError,
        c.SCIM_TYPE_INVALID_VALUE,
    ),
    (
        body({"op": "replace", "value": {"active": "nope"}}),
        InvalidValueError,
        c.SCIM_TYPE_INVALID_VALUE,
    ),
    (
        body({"op": "replace", "path": "displayName", "value": {"a": 1}}),
        InvalidValueError,
        "invalidValue",
    ),
    (
        body(
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
            }
        ),
        InvalidValueError,
        c.SCIM_TYPE_INVALID_VALUE,
    ),
    (
        body({"op": "replace", "path": 'emails[type eq "work"]', "value": [{}, {}]}),
        InvalidValueError,
        "invalidValue",
    ),
    (body({"op": "replace", "path": 7, "value": "x"}), InvalidPathError, c.SCIM_TYPE_INVALID_PATH),
    (
        body({"op": "replace", "path": "favouriteColour", "value": "x"}),
        InvalidPathError,
        c.SCIM_TYPE_INVALID_PATH,
    ),
    (
        # The RFC's schemas are fixed: an unknown name in them is a client error.
        body({"op": "remove", "path": f"{ENTERPRISE}:costCode2"}),
        InvalidPathError,
        c.SCIM_TYPE_INVALID_PATH,
    ),
    (
        body({"op": "replace", "path": f"{c.USER_SCHEMA}:shoeSize", "value": 9}),
        InvalidPathError,
        c.SCIM_TYPE_INVALID_PATH,
    ),
    (
        body({"op": "replace", "path": "name.nickname", "value": "x"}),
        InvalidPathError,
        c.SCIM_TYPE_INVALID_PATH,
    ),
    (
        body({"op": "replace", "path": "userName.first", "value": "x"}),
        InvalidPathError,
        c.SCIM_TYPE_INVALID_PATH,
    ),
    (
        body({"op": "replace", "path": 'name[givenName eq "A"]', "value": "x"}),
        InvalidPathError,
        "invalidPath",
    ),
    (
        body({"op": "remove", "path": 'emails[label eq "work"]'}),
        InvalidPathError,
        c.SCIM_TYPE_INVALID_PATH,
    ),
    (
        body({"op": "remove", "path": 'emails[type eq "work"].label'}),
        InvalidPathError,
        c.SCIM_TYPE_INVALID_PATH,
    ),
    (body({"op": "remove", "path": "members"}), InvalidPathError, c.SCIM_TYPE_INVALID_PATH),
    (
        body({"op": "remove", "path": 'emails[type eq "work"'}),
        InvalidPathError,
        c.SCIM_TYPE_INVALID_PATH,
    ),
    (body({"op": "remove", "path": "emails[]"}), InvalidPathError, c.SCIM_TYPE_INVALID_PATH),
    (
        body({"op": "replace", "value": {'emails[type eq "work"].nope': "x"}}),
        InvalidPathError,
        "invalidPath",
    ),
]


@pytest.mark.parametrize(("request_body", "error", "scim_type"), BAD_REQUESTS)
def test_bad_requests(request_body: Any, error: type[ScimError], scim_type: str) -> None:
    with pytest.raises(error) as info:
        parse_patch_request(request_body, USER_RESOURCE, max_operations=10)
    assert type(info.value) is error
    assert info.value.scim_type == scim_type
    assert info.value.to_body()["status"] == "400"


def test_errors_name_the_failing_operation() -> None:
    with pytest.raises(InvalidValueError) as info:
        parse(
            {"op": "replace", "path": "title", "value": "CTO"},
            {"op": "replace", "path": "active", "value": "x"},
        )
    assert info.value.detail.startswith("Operations[1]: ")


def test_too_many_operations() -> None:
    request = body(*({"op": "replace", "path": "title", "value": str(i)} for i in range(11)))
    with pytest.raises(TooManyError) as info:
        parse_patch_request(request, USER_RESOURCE, max_operations=10)
    assert info.value.scim_type == c.SCIM_TYPE_TOO_MANY
    assert "10" in info.value.detail
    assert (
        len(
            parse_patch_request(body(*request["Operations"][:10]), USER_RESOURCE, max_operations=10)
        )
        == 10
    )


def test_patch_op_urn_is_matched_case_insensitively_among_others() -> None:
    request = {
        "schemas": ["urn:example:other", c.PATCH_OP.upper()],
        "Operations": [{"op": "remove", "path": "title"}],
    }
    assert len(parse_patch_request(request, USER_RESOURCE, max_operations=1)) == 1


def test_apply_refuses_operations_without_a_path() -> None:
    with pytest.raises(InvalidPathError):
        apply_patch(user_doc(), [PatchOperation("replace", None, {"title": "x"})], USER_RESOURCE)


def test_removing_the_manager_id_removes_the_manager() -> None:
    result = patch_user(user_doc(), {"op": "remove", "path": f"{ENTERPRISE}:manager.value"})
    assert result[ENTERPRISE] == {"department": "Sales"}


def test_path_less_value_repeating_read_only_groups_is_accepted() -> None:
    result = patch_user(
        user_doc(),
        {
            "op": "replace",
            "value": {"groups": [{"value": GROUP_ID}], "id": USER_ID, "title": "CTO"},
        },
    )
    assert result == {**user_doc(), "title": "CTO"}


def test_a_value_created_from_a_filter_is_normalized() -> None:
    doc = user_doc()
    result = patch_user(doc, {"op": "add", "path": 'ims[TYPE eq "skype"].value', "value": "babs.j"})
    assert result["ims"] == [{"type": "skype", "value": "babs.j"}]


def test_parse_does_not_alias_the_request_body() -> None:
    request = body({"op": "add", "path": "emails", "value": [{"value": "a@x"}]})
    operations = parse_patch_request(request, USER_RESOURCE, max_operations=1)
    result = apply_patch(user_doc(), operations, USER_RESOURCE)
    result["emails"][-1]["value"] = "mutated"
    assert request["Operations"][0]["value"] == [{"value": "a@x"}]
    assert operations[0].value == [{"value": "a@x"}]
