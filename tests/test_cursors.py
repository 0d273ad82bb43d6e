"""Cursor pagination (RFC 9865) on /Users, /Groups and their .search, on either database."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from axon_scim.checks import check_settings
from axon_scim.protocol import constants as c

from .factories import (
    ScimGroupFactory,
    ScimMembershipFactory,
    ScimUserFactory,
    ScimUserValueFactory,
)

ENT = c.ENTERPRISE_USER_SCHEMA
INVALID_CURSOR = {
    "schemas": [c.ERROR],
    "status": "400",
    "scimType": "invalidCursor",
    "detail": "The cursor is not valid: send an empty cursor for the first page, then the"
    " nextCursor of the previous page with the same query.",
}
ANOTHER_QUERY = {
    **INVALID_CURSOR,
    "detail": "The cursor belongs to another query: repeat the filter, sortBy, sortOrder,"
    " attributes and excludedAttributes of its first page.",
}


@pytest.fixture
def people(org: Any) -> list[str]:
    """Nine users' ids in the default order: creation time, then id.

    Three users share each creation time, some have no title, some emails
    have a primary value and some do not.
    """
    moment = now() - timedelta(days=1)
    titles = ["Eng", "", "ops", "Eng", "", "Ops", "eng", "", "QA"]
    users = []
    for i, title in enumerate(titles):
        user = ScimUserFactory(
            organization=org,
            user_name=f"user{8 - i}@example.com",
            title=title,
            active=[True, False, None][i % 3],
            # Three users share each creation time: the order falls back on the id.
            created=moment + timedelta(seconds=i // 3),
            last_modified=moment,
        )
        if i % 2:
            ScimUserValueFactory(user=user, value=f"{title or 'none'}{i}@example.com")
        if i % 4 == 0:
            ScimUserValueFactory(user=user, value=f"z{i}@example.com", primary=True, position=1)
        users.append(user)
    return [str(user.pk) for user in sorted(users, key=lambda user: (user.created, user.pk))]


def walk(scim: Any, count: int = 2, **params: Any) -> list[dict[str, Any]]:
    """Every page of a cursor walk of /Users by GET, from the empty cursor to the last page."""
    pages = [scim.get("Users", {**params, "cursor": "", "count": count}).json()]
    while "nextCursor" in pages[-1]:
        assert len(pages) < 100, pages[-1]
        next_params = {**params, "cursor": pages[-1]["nextCursor"], "count": count}
        pages.append(scim.get("Users", next_params).json())
    return pages


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [resource["id"] for page in pages for resource in page["Resources"]]


def index_order(scim: Any, **params: Any) -> list[str]:
    """The ids of every match as one index page gives them: the order a walk must keep."""
    body = scim.get("Users", {**params, "count": 1000}).json()
    return [resource["id"] for resource in body["Resources"]]


# --- walks ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_walk_serves_every_user_once_in_the_index_order(scim, people):
    pages = walk(scim, count=4, attributes="userName")
    assert ids_of(pages) == index_order(scim) == people
    last_name = pages[-1]["Resources"][0]["userName"]
    assert [page["itemsPerPage"] for page in pages] == [4, 4, 1]
    # The total is on the first page only; no page has a startIndex.
    assert [page.get("totalResults") for page in pages] == [9, None, None]
    assert not any("startIndex" in page for page in pages)
    assert pages[-1] == {
        "schemas": [c.LIST_RESPONSE],
        "itemsPerPage": 1,
        "Resources": [{"schemas": [c.USER_SCHEMA], "id": people[8], "userName": last_name}],
    }


@pytest.mark.django_db
def test_a_bare_cursor_parameter_starts_a_walk(scim, people):
    body = scim.client.get("/scim/v2/Users?cursor&count=5", **scim._headers(None)).json()
    assert [r["id"] for r in body["Resources"]] == people[:5]
    assert body["totalResults"] == 9 and "nextCursor" in body


@pytest.mark.django_db
def test_cursors_use_only_unreserved_characters(scim, people):
    cursor = walk(scim)[0]["nextCursor"]
    assert cursor and set(cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )


@pytest.mark.django_db
def test_one_page_holding_everything_has_no_next_cursor(scim, people):
    body = scim.get("Users", {"cursor": "", "count": 9}).json()
    assert (body["totalResults"], body["itemsPerPage"], "nextCursor" in body) == (9, 9, False)


@pytest.mark.django_db
def test_an_empty_organization_gives_one_empty_page(scim):
    assert scim.get("Users", {"cursor": ""}).json() == {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": 0,
        "itemsPerPage": 0,
        "Resources": [],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize(
    "sort_by",
    [
        "userName",
        "title",  # absent values sort last ascending, first descending
        "active",  # true, false and unassigned
        "emails",  # multi-valued: the primary value, else the first
        "emails.value",
        "meta.lastModified",  # one value for all: the id decides
        "id",
        f"{ENT}:manager.value",  # absent for everyone
    ],
)
def test_a_sorted_walk_keeps_the_sort_order(scim, people, sort_by, order):
    params = {"sortBy": sort_by, "sortOrder": order, "attributes": "userName"}
    for count in (1, 2, 4):
        assert ids_of(walk(scim, count=count, **params)) == index_order(scim, **params)


@pytest.mark.django_db
def test_a_filtered_walk_serves_the_matches(scim, people):
    params = {"filter": "title pr and not (active eq true)", "sortBy": "title"}
    matches = index_order(scim, **params)
    assert len(matches) == 3
    pages = walk(scim, count=2, **params)
    assert ids_of(pages) == matches and pages[0]["totalResults"] == 3


@pytest.mark.django_db
def test_the_page_size_may_change_during_a_walk(scim, people):
    first = scim.get("Users", {"cursor": "", "count": 2}).json()
    rest = scim.get("Users", {"cursor": first["nextCursor"], "count": 10}).json()
    assert ids_of([first, rest]) == people and "nextCursor" not in rest


@pytest.mark.django_db
def test_a_walk_does_not_count_after_the_first_page(scim, people):
    cursor = scim.get("Users", {"cursor": "", "count": 2}).json()["nextCursor"]
    with CaptureQueriesContext(connection) as queries:
        body = scim.get("Users", {"cursor": cursor, "count": 2}).json()
    assert len(body["Resources"]) == 2
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.django_db
def test_count_zero_gives_the_total_and_a_cursor_that_resumes_in_place(scim, people):
    first = scim.get("Users", {"cursor": "", "count": 3}).json()
    probe = scim.get("Users", {"cursor": first["nextCursor"], "count": 0}).json()
    assert probe == {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": 9,
        "itemsPerPage": 0,
        "nextCursor": probe["nextCursor"],
        "Resources": [],
    }
    rest = scim.get("Users", {"cursor": probe["nextCursor"], "count": 100}).json()
    assert ids_of([first, rest]) == people
    nothing = {"cursor": "", "count": 0, "filter": 'id eq "x"'}
    assert scim.get("Users", nothing).json() == {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": 0,
        "itemsPerPage": 0,
        "Resources": [],
    }


@pytest.mark.django_db
def test_count_defaults_and_caps_as_for_index_pages(scim, people, settings):
    settings.AXON_SCIM = {"DEFAULT_PAGE_SIZE": 2, "MAX_PAGE_SIZE": 3}
    assert scim.get("Users", {"cursor": ""}).json()["itemsPerPage"] == 2
    assert scim.get("Users", {"cursor": "", "count": 500}).json()["itemsPerPage"] == 3


# --- refused cursors ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_changed_cursor_is_invalid_cursor(scim, people):
    cursor = walk(scim)[0]["nextCursor"]
    payload, stamp, signature = cursor.split(".")
    flipped = "A" if payload[5] != "A" else "B"
    for forged in (
        f"{payload[:5]}{flipped}{payload[6:]}.{stamp}.{signature}",
        f"{payload}.{stamp}.{signature[:-2]}",
        f"{payload}.{signature}",
        "garbage",
        signing.TimestampSigner(salt="axon_scim.cursor").sign_object({"q": "x"}),  # ':' separated
    ):
        response = scim.get("Users", {"cursor": forged, "count": 2})
        assert (response.status_code, response.json()) == (400, INVALID_CURSOR), forged


@pytest.mark.django_db
def test_a_cursor_of_another_organization_is_invalid_cursor(scim, other_scim, people, other_org):
    ScimUserFactory.create_batch(3, organization=other_org)
    cursor = walk(scim)[0]["nextCursor"]
    response = other_scim.get("Users", {"cursor": cursor, "count": 2})
    assert (response.status_code, response.json()) == (400, ANOTHER_QUERY)
    # Their own walk sees only their users.
    assert len(ids_of(walk(other_scim))) == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"filter": "title pr"},
        {"sortBy": "userName"},
        {"sortBy": "title", "sortOrder": "descending"},
        {"attributes": "userName"},
        {"excludedAttributes": "emails"},
    ],
)
def test_a_cursor_of_another_query_is_invalid_cursor(scim, people, changes):
    params = {"sortBy": "title"}
    cursor = walk(scim, **params)[0]["nextCursor"]
    response = scim.get("Users", {**params, **changes, "cursor": cursor})
    assert (response.status_code, response.json()) == (400, ANOTHER_QUERY)


@pytest.mark.django_db
def test_a_user_cursor_does_not_page_groups(scim, people):
    cursor = walk(scim)[0]["nextCursor"]
    assert scim.get("Groups", {"cursor": cursor}).json() == ANOTHER_QUERY


@pytest.mark.django_db
def test_an_expired_cursor_is_expired_cursor(scim, people, settings, monkeypatch):
    settings.AXON_SCIM = {"CURSOR_TIMEOUT": 60}
    cursor = walk(scim)[0]["nextCursor"]
    later = time.time() + 61
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    response = scim.get("Users", {"cursor": cursor, "count": 2})
    assert (response.status_code, response.json()) == (
        400,
        {
            "schemas": [c.ERROR],
            "status": "400",
            "scimType": "expiredCursor",
            "detail": "The cursor is older than 60 seconds (cursorTimeout): start again with an"
            " empty cursor.",
        },
    )
    # A changed cursor stays invalid, however old.
    assert scim.get("Users", {"cursor": cursor[:-3], "count": 2}).json() == INVALID_CURSOR


@pytest.mark.django_db
def test_cursor_with_start_index_is_invalid_value(scim, people):
    response = scim.get("Users", {"cursor": "", "startIndex": 1})
    assert (response.status_code, response.json()["scimType"]) == (400, "invalidValue")
    body = {"schemas": [c.SEARCH_REQUEST], "cursor": "", "startIndex": 3}
    response = scim.post("Users/.search", body)
    assert (response.status_code, response.json()["scimType"]) == (400, "invalidValue")


@pytest.mark.django_db
def test_an_unsortable_sort_by_is_invalid_value_as_for_index_pages(scim, people):
    response = scim.get("Users", {"cursor": "", "sortBy": "nosuch"})
    assert (response.status_code, response.json()["scimType"]) == (400, "invalidValue")


# --- .search and groups ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_walk_by_post_search(scim, people):
    request = {"schemas": [c.SEARCH_REQUEST], "sortBy": "userName", "count": 4, "cursor": ""}
    pages = [scim.post("Users/.search", request).json()]
    while "nextCursor" in pages[-1]:
        pages.append(
            scim.post("Users/.search", {**request, "cursor": pages[-1]["nextCursor"]}).json()
        )
    by_name = index_order(scim, sortBy="userName")
    assert ids_of(pages) == by_name and by_name != people
    # The same query by GET continues the walk: a cursor belongs to a query, not a method.
    by_get = scim.get("Users", {"sortBy": "userName", "cursor": pages[0]["nextCursor"]}).json()
    assert ids_of([by_get]) == by_name[4:]
    # A null cursor is no cursor: index pagination.
    assert "startIndex" in scim.post("Users/.search", {**request, "cursor": None}).json()


@pytest.mark.django_db
def test_groups_walk_with_and_without_members(scim, org):
    groups = [ScimGroupFactory(organization=org, display_name=f"G{i}") for i in range(5)]
    member = ScimMembershipFactory(group=groups[0]).user
    for params in ({}, {"excludedAttributes": "members"}):
        pages = [scim.get("Groups", {**params, "cursor": "", "count": 2}).json()]
        while "nextCursor" in pages[-1]:
            next_params = {**params, "cursor": pages[-1]["nextCursor"], "count": 2}
            pages.append(scim.get("Groups", next_params).json())
        assert ids_of(pages) == [str(group.pk) for group in groups]
        assert ("members" in pages[0]["Resources"][0]) is not bool(params)
    request = {"schemas": [c.SEARCH_REQUEST], "cursor": "", "count": 3, "sortBy": "displayName"}
    first = scim.post("Groups/.search", request).json()
    assert first["Resources"][0]["members"][0]["value"] == str(member.pk)
    rest = scim.post("Groups/.search", {**request, "cursor": first["nextCursor"]}).json()
    assert ids_of([first, rest]) == [str(group.pk) for group in groups]


@pytest.mark.django_db
def test_the_root_search_pages_by_index_only(scim, people):
    response = scim.post(".search", {"schemas": [c.SEARCH_REQUEST], "cursor": ""})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


@pytest.mark.parametrize("value", [0, -5, "3600", None, True])
def test_the_cursor_timeout_must_be_a_positive_integer(settings, value):
    settings.AXON_SCIM = {"CURSOR_TIMEOUT": value}
    assert [error.id for error in check_settings()] == ["axon_scim.E006"]
