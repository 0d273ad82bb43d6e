"""Bounded work in the protocol layer: filter and PATCH costs, collapsed member changes.

The costs are defined in ``protocol/filter/budget.py`` and ``protocol/patch/budget.py``;
going over a limit is 400 ``tooMany`` (RFC 7644 section 3.12) naming the limit.
The engine's own shortcuts (collapsed member changes, hashed duplicate checks,
indexed removals) must answer exactly as the one-by-one way does.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axon_scim.protocol import constants as c
from axon_scim.protocol.errors import InvalidValueError, TooManyError
from axon_scim.protocol.filter import (
    FilterCost,
    FilterLimits,
    check_filter_cost,
    filter_cost,
    parse_filter,
    parse_path,
)
from axon_scim.protocol.patch import (
    MemberChange,
    PatchOperation,
    apply_patch,
    collapse_member_changes,
    operation_cost,
    parse_patch_request,
    patch_cost,
)
from axon_scim.protocol.schemas import GROUP_RESOURCE, USER_RESOURCE


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [c.PATCH_OP], "Operations": list(operations)}


def parse(*operations: dict[str, Any], max_cost: int | None = None) -> list[PatchOperation]:
    return parse_patch_request(
        body(*operations), USER_RESOURCE, max_operations=1000, max_cost=max_cost
    )


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms", "subqueries"),
    [
        ('userName eq "a"', 1, 0),
        ('userName eq "a" or title pr and not (active eq true)', 3, 0),
        ('emails.value eq "a@x"', 1, 1),
        ('emails[type eq "work" and value co "@x"]', 2, 1),
        ('emails[type eq "work"].value eq "a@x"', 2, 1),
        ('not (emails[value eq "a"]) and groups.value eq "g" or phoneNumbers pr', 3, 3),
        ('name[givenName eq "Barbara"]', 1, 0),  # single-valued: a plain column
        ('urn:ietf:params:scim:schemas:core:2.0:User:emails.value eq "a"', 1, 1),
    ],
)
def test_filter_cost_counts_terms_and_multi_valued_comparisons(
    text: str, terms: int, subqueries: int
) -> None:
    assert filter_cost(parse_filter(text), USER_RESOURCE) == FilterCost(terms, subqueries)


def test_without_a_schema_only_brackets_count_as_subqueries() -> None:
    expr = parse_filter('emails.value eq "a" and members[value eq "x"]')
    assert filter_cost(expr) == FilterCost(2, 1)


def test_group_members_are_multi_valued() -> None:
    expr = parse_filter('members.value eq "a" or members.value eq "b"')
    assert filter_cost(expr, GROUP_RESOURCE) == FilterCost(2, 2)


def test_a_long_chain_is_counted_without_recursion() -> None:
    expr = parse_filter(" and ".join(["title pr"] * 300))
    assert filter_cost(expr, USER_RESOURCE) == FilterCost(300, 0)


def test_filters_over_a_limit_are_400_too_many_naming_it() -> None:
    limits = FilterLimits(max_terms=3, max_subqueries=1)
    ok = parse_filter('userName eq "a" and emails[type eq "work" and value eq "x"]')
    assert check_filter_cost(ok, limits, USER_RESOURCE) == FilterCost(3, 1)
    with pytest.raises(TooManyError) as info:
        check_filter_cost(parse_filter("a pr or b pr or c pr or d pr"), limits)
    assert info.value.scim_type == c.SCIM_TYPE_TOO_MANY
    assert "4 attribute comparisons" in info.value.detail
    assert "at most 3" in info.value.detail
    with pytest.raises(TooManyError) as info:
        check_filter_cost(parse_filter("emails pr and groups pr"), limits, USER_RESOURCE)
    assert "multi-valued attributes 2 times" in info.value.detail
    assert "at most 1" in info.value.detail


# --- PATCH cost ---------------------------------------------------------------------------------


def test_operation_cost_is_values_times_filter_terms() -> None:
    operations = parse(
        {"op": "replace", "path": "title", "value": "CTO"},
        {"op": "add", "path": "emails", "value": [{"value": f"{i}@x"} for i in range(7)]},
        {"op": "remove", "path": 'emails[type eq "work" or type eq "home" or value pr]'},
        {"op": "remove", "path": "emails", "value": [{"value": "a@x"}, {"value": "b@x"}]},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"},
    )
    assert [operation_cost(op) for op in operations] == [1, 7, 3, 2, 1]
    assert patch_cost(operations) == 14


def test_path_less_operations_cost_what_they_expand_to() -> None:
    operations = parse(
        {"op": "replace", "value": {"title": "CTO", "emails": [{"value": "a@x"}, {"value": "b@x"}]}}
    )
    assert patch_cost(operations) == 3


def test_a_request_over_the_cost_is_refused_at_the_operation_that_passes_it() -> None:
    add_ten = {"op": "add", "path": "emails", "value": [{"value": f"{i}@x"} for i in range(10)]}
    assert len(parse(add_ten, add_ten, max_cost=20)) == 2
    with pytest.raises(TooManyError) as info:
        parse(add_ten, add_ten, add_ten, {"op": "bogus"}, max_cost=20)
    # Refused at Operations[2], before the malformed Operations[3] is even read.
    assert info.value.scim_type == c.SCIM_TYPE_TOO_MANY
    assert "passes 20 at Operations[2]" in info.value.detail


def test_the_repeated_filter_of_finding_4_is_over_the_default_cost() -> None:
    terms = " or ".join(f'value eq "nomatch{i:04d}@example.com"' for i in range(78))
    request = [{"op": "remove", "path": f"emails[{terms}]"}] * 1000
    with pytest.raises(TooManyError, match=r"Operations\[32\]"):
        parse(*request, max_cost=2500)


# --- collapsed member changes ---------------------------------------------------------------


def apply_one_by_one(members: set[str], changes: list[MemberChange]) -> set[str]:
    for change in changes:
        if change.kind == "add":
            members = members | set(change.values)
        elif change.kind == "remove":
            members = members - set(change.values)
        elif change.kind == "replace":
            members = set(change.values)
        else:
            members = set()
    return members


def named_ids(changes: list[MemberChange]) -> set[str]:
    """The ids the services look up (and refuse when unknown): those of adds and replaces."""
    return {v for change in changes if change.kind in ("add", "replace") for v in change.values}


IDS = st.sampled_from(["a", "b", "c", "d", "e"])
CHANGES = st.lists(
    st.builds(
        lambda kind, values: MemberChange(kind, () if kind == "remove_all" else tuple(values)),
        st.sampled_from(["add", "remove", "replace", "remove_all"]),
        st.lists(IDS, max_size=4, unique=True),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(start=st.sets(IDS), changes=CHANGES)
def test_collapsed_member_changes_have_the_same_outcome(
    start: set[str], changes: list[MemberChange]
) -> None:
    collapsed = collapse_member_changes(changes)
    assert apply_one_by_one(start, collapsed) == apply_one_by_one(start, changes)
    assert named_ids(collapsed) == named_ids(changes)
    assert len(collapsed) <= 3


def test_a_thousand_identical_adds_collapse_into_one() -> None:
    members = tuple(f"u{i}" for i in range(80))
    assert collapse_member_changes([MemberChange("add", members)] * 1000) == [
        MemberChange("add", members)
    ]


def test_one_change_comes_back_as_it_is() -> None:
    assert collapse_member_changes([MemberChange("replace", ())]) == [MemberChange("replace", ())]
    assert collapse_member_changes([]) == []


def test_ids_added_then_dropped_are_still_checked() -> None:
    changes = [
        MemberChange("add", ("a", "b")),
        MemberChange("remove", ("b", "c")),
        MemberChange("add", ("a",)),
    ]
    assert collapse_member_changes(changes) == [
        MemberChange("add", ("a", "b")),
        MemberChange("remove", ("b", "c")),
    ]
    assert collapse_member_changes(
        [MemberChange("add", ("x",)), MemberChange("replace", ("a",)), MemberChange("add", ("b",))]
    ) == [MemberChange("add", ("x",)), MemberChange("replace", ("a", "b"))]
    assert collapse_member_changes(
        [MemberChange("add", ("x",)), MemberChange("remove_all", ()), MemberChange("add", ("b",))]
    ) == [MemberChange("add", ("x",)), MemberChange("remove_all", ()), MemberChange("add", ("b",))]


# --- apply_patch: the same answers, without quadratic scans ----------------------------------


def user(**attributes: Any) -> dict[str, Any]:
    return {"schemas": [c.USER_SCHEMA], "id": "u1", "userName": "bjensen", **attributes}


def test_adding_values_skips_exactly_the_equal_ones() -> None:
    current = [{"value": "a@x", "primary": True}, {"value": "b@x", "type": "work"}]
    added = [
        {"value": "a@x", "primary": True},  # equal: skipped
        {"value": "A@x", "primary": True},  # another case: a different value
        {"type": "work", "value": "b@x"},  # equal whatever the key order: skipped
    ]
    operation = PatchOperation("add", parse_path("emails"), added)
    result = apply_patch(user(emails=current), [operation], USER_RESOURCE)
    assert [item["value"] for item in result["emails"]] == ["a@x", "b@x", "A@x"]
    assert result["emails"][0]["primary"] is False  # the new primary takes over


def test_removing_listed_values_matches_as_one_by_one_does() -> None:
    current = [
        {"value": "A@x", "type": "work"},
        {"value": "b@x", "type": "home"},
        {"value": "c@x"},
        {"type": "other"},
    ]
    operations = parse(
        {
            "op": "remove",
            "path": "emails",
            "value": [
                {"value": "a@X"},  # emails.value is not caseExact
                {"value": "b@x", "type": "work"},  # type differs: kept
                {"type": "other"},  # no value: compared with every item
                *({"value": f"nobody{i}@x"} for i in range(1000)),
            ],
        }
    )
    result = apply_patch(user(emails=current), operations, USER_RESOURCE)
    assert result["emails"] == [{"value": "b@x", "type": "home"}, {"value": "c@x"}]


def test_read_only_attributes_are_compared_without_copying_the_document() -> None:
    groups = [{"value": f"g{i}", "display": f"G{i}"} for i in range(3)]
    doc = user(groups=groups)
    repeat = [{"op": "replace", "path": "id", "value": "u1"}] * 500
    assert apply_patch(doc, parse(*repeat), USER_RESOURCE) == doc


def test_growing_an_attribute_past_max_values_fails_at_once() -> None:
    operations = parse(
        {"op": "add", "path": "emails", "value": [{"value": f"{i}@x"} for i in range(5)]},
        {"op": "remove", "path": 'emails[value eq "0@x"]'},
    )
    assert len(apply_patch(user(), operations, USER_RESOURCE, max_values=5)["emails"]) == 4
    with pytest.raises(InvalidValueError, match='"emails" has 5 values; at most 4 are kept'):
        apply_patch(user(), operations, USER_RESOURCE, max_values=4)


def test_an_attribute_already_past_max_values_may_shrink_or_change() -> None:
    emails = [{"value": f"{i}@x", "type": "work"} for i in range(6)]
    operations = parse(
        {"op": "replace", "path": 'emails[value eq "0@x"].type', "value": "home"},
        {"op": "remove", "path": 'emails[value eq "1@x"]'},
    )
    result = apply_patch(user(emails=emails), operations, USER_RESOURCE, max_values=3)
    assert len(result["emails"]) == 5
