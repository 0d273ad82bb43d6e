"""Canonical input documents (axon_scim.protocol.documents): no database."""

from __future__ import annotations

from typing import Any

import pytest

from axon_scim.protocol import constants as c
from axon_scim.protocol.documents import normalize_document, normalize_value, resolve_key
from axon_scim.protocol.errors import InvalidSyntaxError, InvalidValueError, ScimError
from axon_scim.protocol.schemas import (
    ENTERPRISE_USER,
    GROUP_RESOURCE,
    USER,
    USER_RESOURCE,
)

ENTERPRISE = c.ENTERPRISE_USER_SCHEMA


def user(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return normalize_document(body, USER_RESOURCE, **kwargs)


def test_keys_take_the_schema_spelling_case_insensitively() -> None:
    doc = user(
        {
            "USERNAME": "bjensen",
            "Name": {"GIVENNAME": "Barbara", "familyname": "Jensen"},
            "EMAILS": [{"VALUE": "b@x.org", "Type": "work", "PRIMARY": True}],
            "externalid": "e-1",
            "ACTIVE": True,
        }
    )
    assert doc == {
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@x.org", "type": "work", "primary": True}],
        "externalId": "e-1",
        "active": True,
    }


@pytest.mark.parametrize(
    "body",
    [
        {ENTERPRISE: {"department": "Sales", "manager": {"value": "m-1"}}},
        {f"{ENTERPRISE}:department": "Sales", f"{ENTERPRISE}:manager": "m-1"},
        {f"{ENTERPRISE.upper()}:DEPARTMENT": "Sales", f"{ENTERPRISE}:manager.value": "m-1"},
        {ENTERPRISE.lower(): {"Department": "Sales", "manager.value": "m-1"}},
    ],
    ids=["nested", "urn-qualified", "urn-qualified-any-case-and-dotted", "nested-dotted"],
)
def test_extension_attributes_live_under_the_urn_however_sent(body: dict[str, Any]) -> None:
    assert user(body) == {ENTERPRISE: {"department": "Sales", "manager": {"value": "m-1"}}}


def test_dotted_and_core_urn_qualified_keys() -> None:
    doc = user(
        {
            "name.givenName": "Ann",
            "NAME.familyName": "Lee",
            f"{c.USER_SCHEMA}:userName": "ann",
            f"{c.USER_SCHEMA}:name.middleName": "B",
        }
    )
    assert doc == {
        "name": {"givenName": "Ann", "familyName": "Lee", "middleName": "B"},
        "userName": "ann",
    }


def test_complex_and_dotted_keys_merge() -> None:
    doc = user({"name": {"givenName": "Ann"}, "name.familyName": "Lee"})
    assert doc == {"name": {"givenName": "Ann", "familyName": "Lee"}}


def test_entra_nulls_mean_absent() -> None:
    doc = user(
        {
            "userName": "u",
            "displayName": None,
            "name": {"givenName": "A", "familyName": None},
            "emails": [None, {"value": "a@x", "type": None}],
            "phoneNumbers": None,
            ENTERPRISE: {"department": None},
            f"{ENTERPRISE}:costCenter": None,
            "title": None,
        }
    )
    assert doc == {
        "userName": "u",
        "name": {"givenName": "A"},
        "emails": [{"value": "a@x"}],
    }


def test_patch_values_keep_explicit_nulls_for_removal() -> None:
    doc = user(
        {
            "displayName": None,
            "name": {"givenName": None, "familyName": "Lee"},
            f"{ENTERPRISE}:department": None,
            "name.middleName": None,
            "schemas": [c.USER_SCHEMA],
        },
        for_patch_value=True,
    )
    assert doc == {
        "displayName": None,
        "name": {"givenName": None, "familyName": "Lee", "middleName": None},
        ENTERPRISE: {"department": None},
    }


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("False", False),
        ("TRUE", True),
        (" true ", True),
        ("false", False),
        (False, False),
        (True, True),
    ],
)
def test_booleans_as_strings(sent: Any, expected: bool) -> None:
    assert user({"active": sent}) == {"active": expected}


@pytest.mark.parametrize("sent", ["yes", "0", 1, 0, {"value": True}, [True]])
def test_non_boolean_for_a_boolean_is_invalid_value(sent: Any) -> None:
    with pytest.raises(InvalidValueError) as info:
        user({"active": sent})
    assert info.value.scim_type == c.SCIM_TYPE_INVALID_VALUE
    assert "active" in info.value.detail


def test_sub_attribute_booleans_as_strings() -> None:
    doc = user({"emails": [{"value": "a@x", "primary": "True"}]})
    assert doc == {"emails": [{"value": "a@x", "primary": True}]}


def test_numbers_for_strings_become_strings() -> None:
    doc = user(
        {
            "userName": "u",
            f"{ENTERPRISE}:employeeNumber": 1234,
            "phoneNumbers": [{"value": 5551234}],
        }
    )
    assert doc == {
        "userName": "u",
        ENTERPRISE: {"employeeNumber": "1234"},
        "phoneNumbers": [{"value": "5551234"}],
    }


@pytest.mark.parametrize("sent", [{"a": 1}, ["x"], True])
def test_objects_lists_and_booleans_for_strings_are_invalid(sent: Any) -> None:
    with pytest.raises(InvalidValueError):
        user({"displayName": sent})


def test_one_object_for_a_multi_valued_attribute_becomes_a_list() -> None:
    assert user({"emails": {"value": "a@x", "type": "work"}}) == {
        "emails": [{"value": "a@x", "type": "work"}]
    }


def test_bare_strings_for_complex_values_become_value_objects() -> None:
    assert user({"emails": ["a@x", {"value": "b@x"}]}) == {
        "emails": [{"value": "a@x"}, {"value": "b@x"}]
    }
    assert user({"emails": "a@x"}) == {"emails": [{"value": "a@x"}]}


def test_empty_list_is_kept_and_empty_objects_dropped() -> None:
    assert user({"emails": [], "phoneNumbers": [{}, {"unknown": 1}]}) == {
        "emails": [],
        "phoneNumbers": [],
    }


def test_two_primary_values_are_invalid() -> None:
    with pytest.raises(InvalidValueError) as info:
        user({"emails": [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": "true"}]})
    assert "primary" in info.value.detail


def test_one_primary_among_others_is_fine() -> None:
    doc = user({"emails": [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": False}]})
    assert doc["emails"][0]["primary"] is True


@pytest.mark.parametrize(
    "manager",
    [
        "m-1",
        {"value": "m-1"},
        {"Value": "m-1", "displayName": "Boss"},
        [{"$ref": None, "value": "m-1"}],
    ],
    ids=["bare-id", "value-object", "with-display", "one-element-list"],
)
def test_manager_shapes(manager: Any) -> None:
    doc = user({ENTERPRISE: {"manager": manager}})
    assert doc[ENTERPRISE]["manager"]["value"] == "m-1"


@pytest.mark.parametrize("manager", ["", {"value": ""}, {"value": "  "}, None])
def test_cleared_manager_is_absent_in_a_document(manager: Any) -> None:
    assert user({"userName": "u", ENTERPRISE: {"manager": manager, "department": "D"}}) == {
        "userName": "u",
        ENTERPRISE: {"department": "D"},
    }


@pytest.mark.parametrize("manager", ["", {"value": ""}, None])
def test_cleared_manager_is_none_in_a_patch_value(manager: Any) -> None:
    doc = user({f"{ENTERPRISE}:manager": manager}, for_patch_value=True)
    assert doc == {ENTERPRISE: {"manager": None}}


def test_cleared_manager_through_a_dotted_key() -> None:
    assert user({f"{ENTERPRISE}:manager.value": ""}) == {}
    assert user({f"{ENTERPRISE}:manager.value": ""}, for_patch_value=True) == {
        ENTERPRISE: {"manager": {"value": None}}
    }


def test_manager_as_a_list_of_two_is_invalid() -> None:
    with pytest.raises(InvalidValueError):
        user({ENTERPRISE: {"manager": [{"value": "a"}, {"value": "b"}]}})


def test_unknown_attributes_and_schemas_are_ignored() -> None:
    doc = user(
        {
            "schemas": [
                c.USER_SCHEMA,
                ENTERPRISE.upper(),
                "urn:ietf:params:scim:schemas:extension:microsoft:2.0:User",
                "urn:scim:schemas:extension:onelogin:1.0",
                "urn:okta:custom:user:1.0",
            ],
            "userName": "u",
            "favouriteColour": "blue",
            "urn:okta:custom:user:1.0:costCode": "X",
            "urn:ietf:params:scim:schemas:extension:microsoft:2.0:User": {"foo": "bar"},
            "name": {"nickname": "not a sub-attribute"},
            "emails.value": "ignored: names no single value",
            ENTERPRISE: {"unknown": 1},
        }
    )
    assert doc == {"schemas": [c.USER_SCHEMA, ENTERPRISE], "userName": "u"}


def test_entra_group_with_its_adscim_urn() -> None:
    body = {
        "schemas": [
            c.GROUP_SCHEMA,
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Group1",
        "members": [],
    }
    doc = normalize_document(body, GROUP_RESOURCE, require=True)
    assert doc == {
        "schemas": [c.GROUP_SCHEMA],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Group1",
        "members": [],
    }


@pytest.mark.parametrize("schemas", ["urn:x", [1], {"a": "b"}, [None]])
def test_schemas_must_be_a_list_of_strings(schemas: Any) -> None:
    with pytest.raises(InvalidSyntaxError) as info:
        user({"schemas": schemas, "userName": "u"})
    assert info.value.scim_type == c.SCIM_TYPE_INVALID_SYNTAX


@pytest.mark.parametrize("body", [[], "x", None, 3, [{"userName": "u"}]])
def test_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(InvalidSyntaxError):
        user(body)


def test_okta_put_keeps_read_only_attributes_for_the_caller() -> None:
    body = {
        "schemas": [c.USER_SCHEMA],
        "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Another User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        "meta": {"resourceType": "User", "version": 'W/"1"'},
    }
    doc = user(body, require=True)
    assert doc == {**body, "schemas": [c.USER_SCHEMA]}


def test_group_members_are_normalized() -> None:
    doc = normalize_document(
        {
            "displayName": "G",
            "members": [{"value": "u1", "display": "U 1", "$ref": None}, "u2", {"VALUE": 3}],
        },
        GROUP_RESOURCE,
    )
    assert doc == {
        "displayName": "G",
        "members": [{"value": "u1", "display": "U 1"}, {"value": "u2"}, {"value": "3"}],
    }


@pytest.mark.parametrize(
    ("resource", "body"),
    [
        (USER_RESOURCE, {}),
        (USER_RESOURCE, {"userName": ""}),
        (USER_RESOURCE, {"userName": "   "}),
        (USER_RESOURCE, {"userName": None}),
        (USER_RESOURCE, {"displayName": "no user name"}),
        (GROUP_RESOURCE, {"members": []}),
        (GROUP_RESOURCE, {"displayName": ""}),
    ],
)
def test_required_attributes_when_required(resource: Any, body: dict[str, Any]) -> None:
    with pytest.raises(InvalidValueError) as info:
        normalize_document(body, resource, require=True)
    assert "required" in info.value.detail
    normalize_document(body, resource)  # without require=True the same body is fine


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({ENTERPRISE: "Sales"}, InvalidValueError),
        ({"name": "Ann Lee"}, InvalidValueError),
        ({"emails": [["a@x"]]}, InvalidValueError),
        ({"emails": [True]}, InvalidValueError),
        ({"active": None, "userName": 5.5}, None),
    ],
)
def test_shape_errors(body: dict[str, Any], error: type[ScimError] | None) -> None:
    if error is None:
        assert user(body) == {"userName": "5.5"}
        return
    with pytest.raises(error):
        user(body)


def test_resolve_key() -> None:
    manager = ENTERPRISE_USER.attribute("manager")
    assert manager is not None
    assert resolve_key(f"{ENTERPRISE}:Manager.Value", USER_RESOURCE) == (
        ENTERPRISE_USER,
        manager,
        manager.sub_attribute("value"),
    )
    assert resolve_key("ID", USER_RESOURCE) == (USER, USER_RESOURCE.common[0], None)
    assert resolve_key("name.nope", USER_RESOURCE) is None
    assert resolve_key("urn:unknown:thing", USER_RESOURCE) is None


def test_normalize_value_for_one_attribute() -> None:
    emails = USER.attribute("emails")
    assert emails is not None
    assert normalize_value(emails, {"value": "a@x"}, where="emails") == [{"value": "a@x"}]
    assert normalize_value(emails, None, where="emails") is None
