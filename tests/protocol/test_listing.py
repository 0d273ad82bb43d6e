"""List and search request parameters and the ListResponse (RFC 7644 sections 3.4.2, 3.4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from axon_scim.protocol import constants as c
from axon_scim.protocol.errors import InvalidSyntaxError, InvalidValueError
from axon_scim.protocol.listing import ListQuery, list_response
from axon_scim.protocol.schemas import GROUP_RESOURCE, USER_RESOURCE

ENT = c.ENTERPRISE_USER_SCHEMA
DEFAULTS = ListQuery(
    filter=None,
    sort_by=None,
    sort_order=None,
    start_index=1,
    count=100,
    attributes=(),
    excluded_attributes=(),
)


def from_params(params: dict[str, str], resource: Any = USER_RESOURCE) -> ListQuery:
    return ListQuery.from_query_params(params, resource, default_count=100, max_count=500)


def from_body(body: Any, resource: Any = USER_RESOURCE) -> ListQuery:
    return ListQuery.from_search_request(body, resource, default_count=100, max_count=500)


def search(**fields: Any) -> dict[str, Any]:
    return {"schemas": [c.SEARCH_REQUEST], **fields}


# --- query parameters -----------------------------------------------------------------------


def test_query_params_defaults() -> None:
    assert from_params({}) == DEFAULTS


def test_query_params_all() -> None:
    params = {
        "filter": 'userName eq "ada"',
        "sortBy": "name.familyName",
        "sortOrder": "descending",
        "startIndex": "11",
        "count": "10",
        "attributes": "userName, name.GIVENNAME, bogus",
    }
    assert from_params(params) == ListQuery(
        filter='userName eq "ada"',
        sort_by="name.familyName",
        sort_order="descending",
        start_index=11,
        count=10,
        attributes=("userName", "name.givenName"),
        excluded_attributes=(),
    )


@pytest.mark.parametrize(
    ("params", "changes"),
    [
        ({"startindex": "5", "COUNT": "7"}, {"start_index": 5, "count": 7}),
        ({"StartIndex": "5", "startIndex": "6"}, {"start_index": 6}),  # RFC spelling wins
        ({"startIndex": "6", "startindex": "5"}, {"start_index": 6}),
        ({"excludedattributes": "members"}, {}),  # members is not a User attribute
        ({"EXCLUDEDATTRIBUTES": "emails,meta"}, {"excluded_attributes": ("emails", "meta")}),
        ({"sortby": "userName"}, {"sort_by": "userName", "sort_order": "ascending"}),
        (
            {"sortBy": "userName", "sortOrder": "DESCENDING"},
            {"sort_by": "userName", "sort_order": "descending"},
        ),
        ({"sortOrder": "descending"}, {}),  # no sortBy: no order either
        ({"filter": "  "}, {}),
        ({"filter": ""}, {}),
        ({"sortBy": ""}, {}),
        ({"startIndex": "", "count": " "}, {}),
        ({"startIndex": "0"}, {"start_index": 1}),
        ({"startIndex": "-4"}, {"start_index": 1}),
        ({"startIndex": "+3"}, {"start_index": 3}),
        ({"count": "0"}, {"count": 0}),
        ({"count": "-1"}, {"count": 0}),
        ({"count": "500"}, {"count": 500}),
        ({"count": "501"}, {"count": 500}),
        ({"count": " 99999999999999999999 "}, {"count": 500}),
        ({"unknown": "x", "attributes": ""}, {}),
        ({"attributes": f"{ENT}:manager.value"}, {"attributes": (f"{ENT}:manager.value",)}),
        ({"filter": ' userName eq "a b" '}, {"filter": 'userName eq "a b"'}),
    ],
)
def test_query_params_variants(params: dict[str, str], changes: dict[str, Any]) -> None:
    expected = DEFAULTS.__dict__ | changes
    assert from_params(params) == ListQuery(**expected)


def test_default_count_is_clamped_to_max() -> None:
    query = ListQuery.from_query_params({}, USER_RESOURCE, default_count=50, max_count=20)
    assert query.count == 20


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"startIndex": "one"}, "'startIndex' must be an integer, not 'one'."),
        ({"startIndex": "1.5"}, "'startIndex' must be an integer, not '1.5'."),
        ({"count": "1e3"}, "'count' must be an integer, not '1e3'."),
        ({"count": "1_000"}, "'count' must be an integer, not '1_000'."),
        ({"count": "\u0663"}, "'count' must be an integer, not '\u0663'."),  # Arabic-Indic 3
        ({"sortOrder": "up"}, "'sortOrder' must be 'ascending' or 'descending'."),
    ],
)
def test_query_params_invalid_values(params: dict[str, str], detail: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        from_params(params)
    assert caught.value.to_body() == {
        "schemas": [c.ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": detail,
    }


@pytest.mark.parametrize(
    "params",
    [
        {"attributes": "userName", "excludedAttributes": "emails"},
        {"attributes": "bogus", "excludedAttributes": "bogus"},  # judged before resolution
    ],
)
def test_attributes_and_excluded_together_are_invalid_syntax(params: dict[str, str]) -> None:
    with pytest.raises(InvalidSyntaxError) as caught:
        from_params(params)
    assert caught.value.to_body() == {
        "schemas": [c.ERROR],
        "status": "400",
        "scimType": "invalidSyntax",
        "detail": "Send either 'attributes' or 'excludedAttributes', not both.",
    }


def test_empty_attributes_beside_excluded_is_fine() -> None:
    query = from_params({"attributes": " ", "excludedAttributes": "members"}, GROUP_RESOURCE)
    assert query == ListQuery(**DEFAULTS.__dict__ | {"excluded_attributes": ("members",)})


def test_root_search_keeps_names_as_written() -> None:
    query = from_params({"attributes": "userName, displayName ,Members.value"}, None)
    assert query.attributes == ("userName", "displayName", "Members.value")


# --- SearchRequest bodies -------------------------------------------------------------------


def test_search_request_defaults() -> None:
    assert from_body(search()) == DEFAULTS


def test_search_request_all() -> None:
    body = search(
        attributes=["displayName", "userName"],
        filter='displayName sw "smith"',
        sortBy="userName",
        sortOrder="Descending",
        startIndex=1,
        count=10,
    )
    assert from_body(body) == ListQuery(
        filter='displayName sw "smith"',
        sort_by="userName",
        sort_order="descending",
        start_index=1,
        count=10,
        attributes=("displayName", "userName"),
        excluded_attributes=(),
    )


@pytest.mark.parametrize(
    ("fields", "changes"),
    [
        ({"excludedAttributes": "members, meta"}, {"excluded_attributes": ("members", "meta")}),
        (
            {"excludedAttributes": ["members", "displayName,meta"]},
            {"excluded_attributes": ("members", "displayName", "meta")},
        ),
        ({"STARTINDEX": 3, "Count": "4"}, {"start_index": 3, "count": 4}),
        ({"startIndex": -1, "count": 9999}, {"start_index": 1, "count": 500}),
        ({"filter": None, "sortBy": None, "attributes": None, "count": None}, {}),
        ({"attributes": []}, {}),
        ({"sortBy": "displayName"}, {"sort_by": "displayName", "sort_order": "ascending"}),
        ({"extra": {"ignored": True}}, {}),
    ],
)
def test_search_request_variants(fields: dict[str, Any], changes: dict[str, Any]) -> None:
    assert from_body(search(**fields), GROUP_RESOURCE) == ListQuery(**DEFAULTS.__dict__ | changes)


def test_search_request_schema_urn_is_case_insensitive_and_may_sit_beside_others() -> None:
    body = {"schemas": ["urn:example:other", c.SEARCH_REQUEST.upper()], "count": 2}
    assert from_body(body).count == 2


def test_search_request_keys_are_case_insensitive() -> None:
    body = {"SCHEMAS": [c.SEARCH_REQUEST], "Filter": 'userName eq "x"'}
    assert from_body(body).filter == 'userName eq "x"'


def test_search_request_at_root_keeps_names_as_written() -> None:
    query = from_body(search(attributes=["userName", "Members"]), None)
    assert query.attributes == ("userName", "Members")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([], "A SearchRequest body must be a JSON object."),
        ("filter", "A SearchRequest body must be a JSON object."),
        (None, "A SearchRequest body must be a JSON object."),
        ({}, f"A SearchRequest must list {c.SEARCH_REQUEST} in 'schemas'."),
        (
            {"schemas": c.SEARCH_REQUEST},
            f"A SearchRequest must list {c.SEARCH_REQUEST} in 'schemas'.",
        ),
        (
            {"schemas": [c.LIST_RESPONSE]},
            f"A SearchRequest must list {c.SEARCH_REQUEST} in 'schemas'.",
        ),
        ({"schemas": [1, None]}, f"A SearchRequest must list {c.SEARCH_REQUEST} in 'schemas'."),
        (
            search(attributes=["userName"], excludedAttributes=["emails"]),
            "Send either 'attributes' or 'excludedAttributes', not both.",
        ),
    ],
)
def test_search_request_invalid_syntax(body: Any, detail: str) -> None:
    with pytest.raises(InvalidSyntaxError) as caught:
        from_body(body)
    assert caught.value.to_body() == {
        "schemas": [c.ERROR],
        "status": "400",
        "scimType": "invalidSyntax",
        "detail": detail,
    }


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"count": 1.5}, "'count' must be an integer, not 1.5."),
        ({"count": True}, "'count' must be an integer, not True."),
        ({"startIndex": "x"}, "'startIndex' must be an integer, not 'x'."),
        ({"startIndex": [1]}, "'startIndex' must be an integer, not [1]."),
        ({"filter": 3}, "'filter' must be a string."),
        ({"sortBy": ["userName"]}, "'sortBy' must be a string."),
        ({"sortOrder": "sideways"}, "'sortOrder' must be 'ascending' or 'descending'."),
        ({"attributes": [1]}, "'attributes' must be a string or a list of strings."),
        (
            {"excludedAttributes": {"a": 1}},
            "'excludedAttributes' must be a string or a list of strings.",
        ),
    ],
)
def test_search_request_invalid_values(fields: dict[str, Any], detail: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        from_body(search(**fields))
    assert caught.value.to_body() == {
        "schemas": [c.ERROR],
        "status": "400",
        "scimType": "invalidValue",
        "detail": detail,
    }


# --- ListResponse ---------------------------------------------------------------------------


def test_list_response() -> None:
    resources = [{"id": "1"}, {"id": "2"}]
    body = list_response(resources, 12, 3)
    assert body == {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": 12,
        "startIndex": 3,
        "itemsPerPage": 2,
        "Resources": [{"id": "1"}, {"id": "2"}],
    }
    assert list(body) == ["schemas", "totalResults", "startIndex", "itemsPerPage", "Resources"]


def test_list_response_empty_page_still_lists_resources() -> None:
    # IdPs looking a user up by filter expect an empty ListResponse, not a missing key.
    assert list_response([], 0, 1) == {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }
