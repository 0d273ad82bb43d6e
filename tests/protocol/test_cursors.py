"""Cursor pagination's pure parts (RFC 9865): the parameter, the state, the fingerprint."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from axon_scim.protocol import constants as c
from axon_scim.protocol.cursors import CursorState, pagination_capabilities, query_fingerprint
from axon_scim.protocol.errors import InvalidCursorError, InvalidValueError
from axon_scim.protocol.listing import ListQuery, cursor_list_response
from axon_scim.protocol.schemas import USER_RESOURCE

ID = uuid.UUID("0b6f9a52-3c1e-4b8e-9d51-2f4a7c3e9b10")


def from_params(params: dict[str, str]) -> ListQuery:
    return ListQuery.from_query_params(params, USER_RESOURCE, default_count=100, max_count=500)


def from_body(**fields: Any) -> ListQuery:
    body = {"schemas": [c.SEARCH_REQUEST], **fields}
    return ListQuery.from_search_request(body, USER_RESOURCE, default_count=100, max_count=500)


# --- the cursor parameter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "cursor"),
    [
        ({}, None),
        ({"cursor": ""}, ""),  # the first page
        ({"cursor": "  "}, ""),
        ({"Cursor": "abc.1xY-_~"}, "abc.1xY-_~"),
    ],
)
def test_cursor_query_parameter(params: dict[str, str], cursor: str | None) -> None:
    assert from_params(params).cursor == cursor


def test_cursor_in_a_search_request() -> None:
    assert from_body(cursor="", count=10).cursor == ""
    assert from_body(cursor="abc").cursor == "abc"
    assert from_body(cursor=None).cursor is None  # null is absent: index pagination


@pytest.mark.parametrize("value", ["a b", "abc:def", "abc%2F", "é"])
def test_cursor_outside_the_unreserved_characters_is_invalid_cursor(value: str) -> None:
    with pytest.raises(InvalidCursorError) as caught:
        from_params({"cursor": value})
    assert caught.value.to_body()["scimType"] == "invalidCursor"


@pytest.mark.parametrize("value", [7, True, ["abc"], {"k": 1}])
def test_a_cursor_that_is_not_a_string_is_invalid_cursor(value: Any) -> None:
    with pytest.raises(InvalidCursorError):
        from_body(cursor=value)


@pytest.mark.parametrize(
    "query",
    [
        lambda: from_params({"cursor": "", "startIndex": "1"}),
        lambda: from_params({"cursor": "abc", "startindex": "3"}),
        lambda: from_body(cursor="", startIndex=1),
    ],
)
def test_cursor_with_start_index_is_invalid_value(query: Any) -> None:
    with pytest.raises(InvalidValueError) as caught:
        query()
    assert caught.value.to_body() == {
        "schemas": [c.ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": "Send either 'cursor' or 'startIndex', not both.",
    }


def test_a_blank_start_index_beside_a_cursor_is_absent() -> None:
    assert from_params({"cursor": "", "startIndex": ""}).cursor == ""


# --- the fingerprint ------------------------------------------------------------------------

BASE = {"filter": 'userName sw "a"', "sortBy": "userName", "attributes": "userName,emails"}


def fingerprint(organization: object = 1, resource: str = "User", **changes: str) -> str:
    return query_fingerprint(organization, resource, from_params({**BASE, **changes}))


@pytest.mark.parametrize(
    "changes",
    [
        {"filter": '  userName   sw "a" '},  # the same filter, parsed
        {"sortBy": "USERNAME"},
        {"sortOrder": "ascending"},  # the default made explicit
        {"attributes": "emails, userName"},  # the same set
        {"count": "7"},  # the page size may change from page to page
        {"cursor": "anything"},
    ],
)
def test_the_fingerprint_ignores_what_does_not_change_the_walk(changes: dict[str, str]) -> None:
    assert fingerprint(**changes) == fingerprint()


@pytest.mark.parametrize(
    "changes",
    [
        {"filter": 'userName sw "b"'},
        {"filter": 'userName sw "A"'},  # a value is compared as written
        {"filter": ""},
        {"sortBy": "title"},
        {"sortBy": ""},
        {"sortOrder": "descending"},
        {"attributes": "userName"},
        {"attributes": "", "excludedAttributes": "emails"},
    ],
)
def test_the_fingerprint_binds_filter_sort_and_attributes(changes: dict[str, str]) -> None:
    assert fingerprint(**changes) != fingerprint()


def test_the_fingerprint_binds_organization_and_resource_type() -> None:
    assert fingerprint(organization=2) != fingerprint()
    assert fingerprint(resource="Group") != fingerprint()


# --- the state and its payload --------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        None,
        "ada@example.com",
        "",
        True,
        False,
        0,
        42,
        datetime(2025, 10, 9, 13, 3, 21, 123456, tzinfo=UTC),
        uuid.UUID("5f0c1d2e-0000-4000-8000-000000000001"),
        Decimal("7.000000000000"),  # a custom integer or decimal attribute's column
        Decimal("-0.5"),
    ],
)
def test_the_payload_gives_back_the_same_position(key: Any) -> None:
    state = CursorState("f" * 32, (key, ID))
    decoded = CursorState.from_payload(state.to_payload())
    assert decoded == state
    assert type(decoded.position[0]) is type(key)  # type: ignore[index]


def test_the_start_position_is_empty() -> None:
    state = CursorState("abc", None)
    assert state.to_payload() == {"q": "abc"}
    assert CursorState.from_payload({"q": "abc"}) == state


def test_a_sort_key_of_another_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        CursorState("abc", (1.5, ID)).to_payload()


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {},
        {"q": 1},
        {"q": "abc", "id": "not tagged"},
        {"q": "abc", "id": ["u", "not a uuid"]},
        {"q": "abc", "id": ["x", 1]},
        {"q": "abc", "k": ["t", "yesterday"], "id": ["u", str(ID)]},
        {"q": "abc", "k": ["b", "true"], "id": ["u", str(ID)]},
        {"q": "abc", "k": ["i", True], "id": ["u", str(ID)]},
        {"q": "abc", "k": ["s", 5], "id": ["u", str(ID)]},
        {"q": "abc", "k": ["s"], "id": ["u", str(ID)]},
        {"q": "abc", "k": ["d", "seven"], "id": ["u", str(ID)]},
        {"q": "abc", "k": ["d", 7], "id": ["u", str(ID)]},
    ],
)
def test_a_payload_that_is_not_ours_is_invalid_cursor(payload: Any) -> None:
    with pytest.raises(InvalidCursorError):
        CursorState.from_payload(payload)


# --- the response and the advertisement -----------------------------------------------------


def test_the_first_page_has_a_total_and_a_next_cursor() -> None:
    assert cursor_list_response([{"id": "a"}], 5, "next") == {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": 5,
        "itemsPerPage": 1,
        "nextCursor": "next",
        "Resources": [{"id": "a"}],
    }


def test_a_later_last_page_has_neither() -> None:
    assert cursor_list_response([{"id": "a"}], None, None) == {
        "schemas": [c.LIST_RESPONSE],
        "itemsPerPage": 1,
        "Resources": [{"id": "a"}],
    }


def test_pagination_capabilities() -> None:
    assert pagination_capabilities(
        default_page_size=100, max_page_size=1000, cursor_timeout=3600
    ) == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 1000,
        "cursorTimeout": 3600,
    }
