"""Properties of the filter parser and the PATCH engine, fuzzed with hypothesis; no database.

- Printing a tree and parsing the text gives the tree back (filters and PATCH paths).
- Any text either parses (and then prints back to the same tree) or is a 400
  naming the column; nothing else escapes, whatever the input holds.
- The evaluator and the PATCH engine answer any input with a result or a
  ``ScimError`` (a 4xx), never another exception, and never change their input.
"""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axon_scim.protocol import constants as c
from axon_scim.protocol.errors import InvalidFilterError, InvalidPathError, ScimError
from axon_scim.protocol.filter import (
    MAX_FILTER_LENGTH,
    Filter,
    PatchPath,
    format_filter,
    format_patch_path,
    matches,
    parse_filter,
    parse_path,
)
from axon_scim.protocol.patch import apply_patch, parse_patch_request, split_member_operations
from axon_scim.protocol.schemas import GROUP_RESOURCE, USER_RESOURCE, ResourceType

from ..strategies import (
    NASTY,
    budget,
    filters,
    hostile_text,
    patch_bodies,
    patch_paths,
    real_filters,
)

USER = {
    "schemas": [c.USER_SCHEMA, c.ENTERPRISE_USER_SCHEMA],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "userName": "bjensen@example.com",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@home.example.org", "type": "home"},
    ],
    "addresses": [{"type": "work", "locality": "Hollywood"}],
    c.ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
    "meta": {"resourceType": "User", "created": "2024-01-31T12:00:00Z", "version": 'W/"1"'},
}
GROUP = {"schemas": [c.GROUP_SCHEMA], "id": "e9e30dba", "displayName": "Tour Guides"}

# Filter-ish pieces, so that random text gets past the first character now and then.
PIECES = [
    "userName", "emails", "name.givenName", c.ENTERPRISE_USER_SCHEMA + ":", "[", "]", "(", ")",
    " ", "eq", "co", "gt", "and", "or", "not", "pr", '"', '"x"', "\\", "\\u", "d800", "0000",
    "00e9", ".", "value", "1", "-", "1e5", "true", "null", *NASTY,
]  # fmt: skip
filter_text = st.one_of(hostile_text, st.lists(st.sampled_from(PIECES), max_size=14).map("".join))


@budget(200)
@given(filters)
def test_a_printed_filter_parses_back_to_itself(tree: Filter) -> None:
    text = format_filter(tree)
    if len(text) <= MAX_FILTER_LENGTH:
        assert parse_filter(text) == tree


@budget(200)
@given(patch_paths)
def test_a_printed_path_parses_back_to_itself(path: PatchPath) -> None:
    assert parse_path(format_patch_path(path)) == path


@budget(400)
@given(filter_text)
def test_any_text_parses_or_is_a_400_naming_the_column(text: str) -> None:
    try:
        tree = parse_filter(text)
    except InvalidFilterError as exc:
        assert "column" in exc.detail or "empty" in exc.detail or "longer" in exc.detail
        return
    assert parse_filter(format_filter(tree)) == tree


@budget(200)
@given(filter_text)
def test_any_path_text_parses_or_is_a_400(text: str) -> None:
    try:
        path = parse_path(text)
    except InvalidPathError:
        return
    assert parse_path(format_patch_path(path)) == path


def _evaluate(text: str, item: dict[str, Any], resource: ResourceType) -> None:
    with contextlib.suppress(InvalidFilterError):
        matches(parse_filter(text), item, resource=resource)


@budget(300)
@given(real_filters(USER_RESOURCE))
def test_the_evaluator_answers_any_user_filter(text: str) -> None:
    _evaluate(text, USER, USER_RESOURCE)


@budget(100)
@given(real_filters(GROUP_RESOURCE))
def test_the_evaluator_answers_any_group_filter(text: str) -> None:
    _evaluate(text, GROUP, GROUP_RESOURCE)


def _patch(body: Any, document: dict[str, Any], resource: ResourceType) -> None:
    before = copy.deepcopy(document)
    try:
        operations = parse_patch_request(body, resource, max_operations=10)
        if resource is GROUP_RESOURCE:
            operations, _ = split_member_operations(operations)
        result = apply_patch(document, operations, resource)
    except ScimError as exc:
        assert 400 <= exc.status < 500, exc
        return
    finally:
        assert document == before  # nothing half-applied, even on error
    json.dumps(result, allow_nan=False)  # still a JSON document


@budget(300)
@given(patch_bodies(USER_RESOURCE))
def test_the_patch_engine_answers_any_user_patch(body: Any) -> None:
    _patch(body, USER, USER_RESOURCE)


@budget(200)
@given(patch_bodies(GROUP_RESOURCE))
def test_the_patch_engine_answers_any_group_patch(body: Any) -> None:
    _patch(body, GROUP, GROUP_RESOURCE)


# --- disagreements with the database that tests/test_filter_agreement.py found ---


def test_a_bad_comparison_is_refused_whatever_the_data() -> None:
    """``emails[value eq true]`` matched nothing on a user without emails; the database said 400."""
    without_emails = {k: v for k, v in USER.items() if k != "emails"}
    for text in ("emails[value eq true]", 'userName eq "x" and emails.value gt true'):
        for item in (USER, without_emails):
            with pytest.raises(InvalidFilterError):
                matches(parse_filter(text), item, resource=USER_RESOURCE)


def test_a_value_without_primary_is_not_primary() -> None:
    """RFC 7643 section 2.4: ``primary`` not sent is false, to the database and the evaluator."""
    phone = {**USER, "phoneNumbers": [{"value": "555"}]}
    assert matches(parse_filter("phoneNumbers[primary eq false]"), phone, resource=USER_RESOURCE)
    assert matches(parse_filter("phoneNumbers.primary pr"), phone, resource=USER_RESOURCE)
    assert not matches(parse_filter('phoneNumbers[primary eq ""]'), phone, resource=USER_RESOURCE)
