"""Projection of responses by attributes/excludedAttributes and ``returned`` (RFC 7644 3.4.2.5)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from axon_scim.protocol import constants as c
from axon_scim.protocol.projection import parse_attribute_list, project, wants
from axon_scim.protocol.schemas import (
    GROUP_RESOURCE,
    NEVER,
    REQUEST,
    Attribute,
    ResourceType,
    Schema,
)
from axon_scim.protocol.schemas import USER_RESOURCE as USER

ENT = c.ENTERPRISE_USER_SCHEMA
META = {
    "resourceType": "User",
    "created": "2024-01-01T00:00:00Z",
    "lastModified": "2024-01-02T00:00:00Z",
    "location": "https://example.com/scim/v2/Users/u1",
    "version": 'W/"3"',
}


def user_document() -> dict[str, Any]:
    return {
        "schemas": [c.USER_SCHEMA, ENT],
        "id": "u1",
        "externalId": "ext-1",
        "userName": "ada@example.com",
        "password": "hunter2",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "active": True,
        "emails": [
            {"value": "ada@example.com", "type": "work", "primary": True},
            {"type": "home"},
        ],
        ENT: {"department": "R&D", "manager": {"value": "u2", "displayName": "Charles"}},
        "meta": META,
    }


def group_document() -> dict[str, Any]:
    return {
        "schemas": [c.GROUP_SCHEMA],
        "id": "g1",
        "displayName": "Engineering",
        "members": [{"value": "u1", "display": "Ada", "type": "User"}],
        "meta": {"resourceType": "Group", "version": 'W/"1"'},
    }


# --- parse_attribute_list ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ()),
        ("", ()),
        (" , ,", ()),
        ("userName", ("userName",)),
        ("USERNAME", ("userName",)),
        (" userName ,  displayName ", ("userName", "displayName")),
        ("name.GIVENNAME", ("name.givenName",)),
        ("emails.value,emails.type", ("emails.value", "emails.type")),
        (f"{c.USER_SCHEMA}:userName", ("userName",)),
        (f"{c.USER_SCHEMA.upper()}:name.familyName", ("name.familyName",)),
        (f"{ENT}:manager.value", (f"{ENT}:manager.value",)),
        (f"{ENT.lower()}:MANAGER.VALUE", (f"{ENT}:manager.value",)),
        (f"{ENT}:department", (f"{ENT}:department",)),
        (ENT.lower(), (ENT,)),
        ("id,meta.version,externalId", ("id", "meta.version", "externalId")),
        (f"{c.USER_SCHEMA}:id", ("id",)),
        ("userName,username,USERNAME", ("userName",)),
        (["userName", "emails, name.givenName"], ("userName", "emails", "name.givenName")),
        (("displayName",), ("displayName",)),
    ],
)
def test_parse_attribute_list_canonicalizes(text: Any, expected: tuple[str, ...]) -> None:
    assert parse_attribute_list(text, USER) == expected


@pytest.mark.parametrize(
    "text",
    [
        "bogus",
        "name.bogus",
        "userName.value",  # a simple attribute has no sub-attributes
        "name.givenName.extra",
        "name.",
        ".name",
        "manager",  # extension attributes need their URN
        f"{ENT}:userName",  # userName is not an enterprise attribute
        f"{ENT}:",
        "urn:example:unknown:1.0:User:foo",
        c.USER_SCHEMA,  # the whole core schema is not a selection
        "members",  # a Group attribute
    ],
)
def test_parse_attribute_list_drops_unknown_names(text: str) -> None:
    assert parse_attribute_list(f"{text},userName", USER) == ("userName",)


def test_parse_attribute_list_group() -> None:
    assert parse_attribute_list("Members.Value, displayname", GROUP_RESOURCE) == (
        "members.value",
        "displayName",
    )


def test_parse_attribute_list_without_resource_only_splits() -> None:
    assert parse_attribute_list(" userName, bogus ,,userName, Members ", None) == (
        "userName",
        "bogus",
        "Members",
    )


# --- project --------------------------------------------------------------------------------


def test_project_without_lists_drops_never_only() -> None:
    expected = user_document()
    del expected["password"]
    assert project(user_document(), USER) == expected


def test_project_does_not_modify_its_input() -> None:
    document = user_document()
    before = copy.deepcopy(document)
    project(document, USER, attributes=("name.givenName", "emails.value"))
    project(document, USER, excluded=("emails.type", ENT))
    assert document == before


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (
            ("displayName",),  # absent from the document: nothing but the always attributes
            {"schemas": [c.USER_SCHEMA, ENT], "id": "u1", "userName": "ada@example.com"},
        ),
        (
            ("name.givenName", "emails.value"),
            {
                "schemas": [c.USER_SCHEMA, ENT],
                "id": "u1",
                "userName": "ada@example.com",
                "name": {"givenName": "Ada"},
                # the home email has no value: it would be empty, so it is left out
                "emails": [{"value": "ada@example.com"}],
            },
        ),
        (
            ("emails", "active", "password"),
            {
                "schemas": [c.USER_SCHEMA, ENT],
                "id": "u1",
                "userName": "ada@example.com",
                "active": True,
                "emails": [
                    {"value": "ada@example.com", "type": "work", "primary": True},
                    {"type": "home"},
                ],
            },
        ),
        (
            (f"{ENT}:manager.value",),
            {
                "schemas": [c.USER_SCHEMA, ENT],
                "id": "u1",
                "userName": "ada@example.com",
                ENT: {"manager": {"value": "u2"}},
            },
        ),
        (
            (ENT,),
            {
                "schemas": [c.USER_SCHEMA, ENT],
                "id": "u1",
                "userName": "ada@example.com",
                ENT: {"department": "R&D", "manager": {"value": "u2", "displayName": "Charles"}},
            },
        ),
        (
            ("meta.version", "externalId"),
            {
                "schemas": [c.USER_SCHEMA, ENT],
                "id": "u1",
                "externalId": "ext-1",
                "userName": "ada@example.com",
                "meta": {"version": 'W/"3"'},
            },
        ),
        (
            ("name", "name.givenName"),  # the whole attribute wins over one of its parts
            {
                "schemas": [c.USER_SCHEMA, ENT],
                "id": "u1",
                "userName": "ada@example.com",
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
            },
        ),
        (
            (f"{c.USER_SCHEMA}:NAME.familyname", "bogus"),  # raw names are resolved too
            {
                "schemas": [c.USER_SCHEMA, ENT],
                "id": "u1",
                "userName": "ada@example.com",
                "name": {"familyName": "Lovelace"},
            },
        ),
        (
            ("id", "userName"),
            {"schemas": [c.USER_SCHEMA, ENT], "id": "u1", "userName": "ada@example.com"},
        ),
    ],
)
def test_project_attributes(attributes: tuple[str, ...], expected: dict[str, Any]) -> None:
    assert project(user_document(), USER, attributes=attributes) == expected


@pytest.mark.parametrize(
    ("excluded", "removed"),
    [
        (("emails",), ["emails"]),
        (("meta", "externalId"), ["meta", "externalId"]),
        (("id", "userName"), []),  # returned: always, exclusion has no effect
        ((ENT,), [ENT]),
        ((f"{ENT}:department", f"{ENT}:manager"), [ENT]),  # emptied extension disappears
        (("bogus",), []),
    ],
)
def test_project_excluded_drops_whole_attributes(
    excluded: tuple[str, ...], removed: list[str]
) -> None:
    expected = user_document()
    del expected["password"]
    for key in removed:
        del expected[key]
    assert project(user_document(), USER, excluded=excluded) == expected


def test_project_excluded_sub_attributes() -> None:
    expected = user_document()
    del expected["password"]
    expected["emails"] = [{"value": "ada@example.com", "primary": True}]
    expected["name"] = {"givenName": "Ada"}
    expected[ENT] = {"department": "R&D", "manager": {"displayName": "Charles"}}
    result = project(
        user_document(),
        USER,
        excluded=("emails.type", "name.familyName", f"{ENT}:manager.value"),
    )
    assert result == expected


def test_project_excluding_every_sub_attribute_drops_the_parent() -> None:
    result = project(
        user_document(), USER, excluded=("name.givenName", "name.familyName", "emails")
    )
    assert "name" not in result
    assert result["userName"] == "ada@example.com"


def test_project_group_excluding_members() -> None:
    assert project(group_document(), GROUP_RESOURCE, excluded=("members",)) == {
        "schemas": [c.GROUP_SCHEMA],
        "id": "g1",
        "displayName": "Engineering",
        "meta": {"resourceType": "Group", "version": 'W/"1"'},
    }


def test_project_group_attributes() -> None:
    assert project(group_document(), GROUP_RESOURCE, attributes=("members.value",)) == {
        "schemas": [c.GROUP_SCHEMA],
        "id": "g1",
        "members": [{"value": "u1"}],
    }


def test_project_keeps_empty_values_that_were_empty() -> None:
    document = {"schemas": [c.GROUP_SCHEMA], "id": "g1", "members": [], "displayName": "x"}
    assert project(document, GROUP_RESOURCE, attributes=("members",)) == {
        "schemas": [c.GROUP_SCHEMA],
        "id": "g1",
        "members": [],
    }


def test_project_unknown_keys_are_returned_by_default_only() -> None:
    document = {
        "schemas": [c.USER_SCHEMA, ENT],
        "id": "u1",
        "userName": "a",
        "custom": 1,
        "name": {"givenName": "A", "nickname": "x"},
        ENT: {"department": "d", "custom": 2},
    }
    assert project(document, USER) == document
    assert project(document, USER, attributes=("name.givenName",)) == {
        "schemas": [c.USER_SCHEMA, ENT],
        "id": "u1",
        "userName": "a",
        "name": {"givenName": "A"},
    }
    assert project(document, USER, attributes=("name", ENT)) == {
        "schemas": [c.USER_SCHEMA, ENT],
        "id": "u1",
        "userName": "a",
        "name": {"givenName": "A", "nickname": "x"},
        ENT: {"department": "d", "custom": 2},
    }
    assert project(document, USER, excluded=(ENT,)) == {
        "schemas": [c.USER_SCHEMA, ENT],
        "id": "u1",
        "userName": "a",
        "custom": 1,
        "name": {"givenName": "A", "nickname": "x"},
    }


def test_project_keeps_non_dict_items_of_complex_attributes() -> None:
    # Malformed data is passed through rather than hidden; the serializer owns its shape.
    document = {"schemas": [c.USER_SCHEMA], "id": "u1", "emails": ["a@x", {"value": "b@x"}]}
    assert project(document, USER, excluded=("emails.type",)) == document


EXTRA = "urn:example:params:scim:schemas:extension:extra:1.0:User"
_EXTRA_SCHEMA = Schema(
    EXTRA,
    "Extra",
    "Test extension with request and never attributes",
    (
        Attribute("badge", returned=REQUEST),
        Attribute("secret", returned=NEVER),
        Attribute(
            "shoe",
            "complex",
            sub_attributes=(
                Attribute("size"),
                Attribute("colour", returned=REQUEST),
                Attribute("serial", returned=NEVER),
            ),
        ),
    ),
)
EXTRA_RESOURCE = ResourceType("User", "Users", "User", USER.schema, (_EXTRA_SCHEMA,), USER.common)


def extra_document() -> dict[str, Any]:
    return {
        "schemas": [c.USER_SCHEMA, EXTRA],
        "id": "u1",
        "userName": "a",
        EXTRA: {
            "badge": "B1",
            "secret": "s",
            "shoe": {"size": 42, "colour": "red", "serial": "x"},
        },
    }


@pytest.mark.parametrize(
    ("attributes", "excluded", "expected_extra"),
    [
        ((), (), {"shoe": {"size": 42}}),
        ((f"{EXTRA}:badge",), (), {"badge": "B1"}),
        ((EXTRA,), (), {"shoe": {"size": 42}}),  # request attributes must be named one by one
        ((f"{EXTRA}:shoe",), (), {"shoe": {"size": 42}}),
        ((f"{EXTRA}:shoe.colour",), (), {"shoe": {"colour": "red"}}),
        ((f"{EXTRA}:shoe", f"{EXTRA}:shoe.colour"), (), {"shoe": {"size": 42, "colour": "red"}}),
        ((f"{EXTRA}:secret", f"{EXTRA}:shoe.serial"), (), None),
        ((), (f"{EXTRA}:shoe.size",), None),
        ((), (f"{EXTRA}:badge",), {"shoe": {"size": 42}}),
    ],
)
def test_project_request_and_never(
    attributes: tuple[str, ...], excluded: tuple[str, ...], expected_extra: dict[str, Any] | None
) -> None:
    expected: dict[str, Any] = {"schemas": [c.USER_SCHEMA, EXTRA], "id": "u1", "userName": "a"}
    if expected_extra is not None:
        expected[EXTRA] = expected_extra
    assert project(extra_document(), EXTRA_RESOURCE, attributes, excluded) == expected


# --- wants ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "attributes", "excluded", "resource", "expected"),
    [
        ("members", (), ("members",), GROUP_RESOURCE, False),
        ("members", (), (), GROUP_RESOURCE, True),
        ("members", ("displayName",), (), GROUP_RESOURCE, False),
        ("members", ("members.value",), (), GROUP_RESOURCE, True),
        ("members.value", ("members",), (), GROUP_RESOURCE, True),
        ("members.display", ("members.value",), (), GROUP_RESOURCE, False),
        ("members.display", (), ("members.display",), GROUP_RESOURCE, False),
        ("members", (), ("members.display",), GROUP_RESOURCE, True),
        ("emails", ("userName",), (), USER, False),
        ("emails", ("EMAILS.type",), (), USER, True),
        ("emails", (), (), USER, True),
        ("password", (), (), USER, False),
        ("password", ("password",), (), USER, False),
        ("id", ("displayName",), ("id",), USER, True),
        ("userName", (), ("userName",), USER, True),
        ("meta", (), ("meta",), USER, False),
        ("groups", ("userName,groups",), (), USER, True),  # raw comma lists are split
        (ENT, (), (), USER, True),
        (ENT, ("userName",), (), USER, False),
        (ENT, (f"{ENT}:manager.value",), (), USER, True),
        (ENT, (), (ENT,), USER, False),
        (f"{ENT}:manager", (ENT,), (), USER, True),
        (f"{ENT}:manager", (), (f"{ENT}:department",), USER, True),
        (f"{EXTRA}:badge", (), (), EXTRA_RESOURCE, False),
        (f"{EXTRA}:badge", (f"{EXTRA}:badge",), (), EXTRA_RESOURCE, True),
        (f"{EXTRA}:shoe.colour", (f"{EXTRA}:shoe",), (), EXTRA_RESOURCE, False),
        (f"{EXTRA}:shoe.colour", (f"{EXTRA}:shoe.colour",), (), EXTRA_RESOURCE, True),
        (EXTRA, (), (), EXTRA_RESOURCE, True),
        (EXTRA, (), (f"{EXTRA}:shoe",), EXTRA_RESOURCE, False),
    ],
)
def test_wants(
    path: str,
    attributes: tuple[str, ...],
    excluded: tuple[str, ...],
    resource: ResourceType,
    expected: bool,
) -> None:
    assert wants(path, attributes, excluded, resource) is expected


@pytest.mark.parametrize("path", ["bogus", "name.bogus", c.USER_SCHEMA])
def test_wants_rejects_unknown_paths(path: str) -> None:
    with pytest.raises(ValueError, match="is not an attribute of User"):
        wants(path, (), (), USER)


def test_wants_agrees_with_project() -> None:
    # Whatever project returns for an attribute, wants must have said yes to it.
    cases: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        ((), ()),
        (("name.givenName",), ()),
        (("emails", ENT), ()),
        ((), ("emails", "meta", f"{ENT}:manager")),
        ((f"{ENT}:department",), ()),
    ]
    for attributes, excluded in cases:
        result = project(user_document(), USER, attributes, excluded)
        for key in ("externalId", "name", "emails", "active", "meta", "password"):
            assert (key in result) is wants(key, attributes, excluded, USER), (key, attributes)
        assert (ENT in result) is wants(ENT, attributes, excluded, USER), attributes
