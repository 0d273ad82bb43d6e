"""BulkRequest parsing, the bulkId reference graph and the BulkResponse (RFC 7644 section 3.7).

Pure data in, pure data out: no database.
"""

from __future__ import annotations

from typing import Any

import pytest

from axon_scim.protocol import constants as c
from axon_scim.protocol.bulk import (
    BulkOperation,
    BulkResult,
    Step,
    bulk_response,
    link_request,
    parse_bulk_request,
    plan_bulk,
    references_in,
    resolve_references,
    without_references,
)
from axon_scim.protocol.errors import (
    BulkReferenceError,
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    PayloadTooLargeError,
)
from axon_scim.protocol.schemas import GROUP_RESOURCE, USER_RESOURCE

MANAGER = f"{c.ENTERPRISE_USER_SCHEMA}:manager"


def bulk(*operations: Any, **extra: Any) -> dict[str, Any]:
    return {"schemas": [c.BULK_REQUEST], "Operations": list(operations), **extra}


def post_user(bulk_id: str, name: str, **data: Any) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"userName": name, **data},
    }


def post_group(bulk_id: str, name: str, *members: str, **data: Any) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/Groups",
        "bulkId": bulk_id,
        "data": {"displayName": name, "members": [{"value": m} for m in members], **data},
    }


def parse(*operations: Any, **extra: Any) -> list[BulkOperation]:
    return list(parse_bulk_request(bulk(*operations, **extra), max_operations=100).operations)


def order(steps: list[Step]) -> list[list[str | None]]:
    """Each step's operations by bulkId (or index), cyclic steps marked with a leading "cycle"."""
    return [
        (["cycle"] if step.cyclic else []) + [op.bulk_id or str(op.index) for op in step.operations]
        for step in steps
    ]


# --- the request --------------------------------------------------------------------------


def test_a_bulk_request_is_parsed_with_case_insensitive_names() -> None:
    request = parse_bulk_request(
        {
            "SCHEMAS": [c.BULK_REQUEST.upper()],
            "operations": [
                {"Method": "post", "PATH": "/Users", "BULKID": "a", "Data": {"userName": "a"}},
                {"method": "PATCH", "path": "/Groups/g1/", "version": 'W/"3"', "data": {}},
                {"method": "delete", "path": "Users/u1"},
            ],
            "FailOnErrors": 2,
        },
        max_operations=3,
    )
    assert request.fail_on_errors == 2
    post, patch, delete = request.operations
    assert (post.method, post.bulk_id, post.resource, post.resource_id) == (
        "POST",
        "a",
        USER_RESOURCE,
        None,
    )
    assert (patch.method, patch.resource, patch.resource_id, patch.version) == (
        "PATCH",
        GROUP_RESOURCE,
        "g1",
        'W/"3"',
    )
    assert (delete.method, delete.resource_id) == ("DELETE", "u1")
    assert all(op.error is None for op in request.operations)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"Operations": []},
        {"schemas": [c.PATCH_OP], "Operations": []},
        {"schemas": [c.BULK_REQUEST]},
        {"schemas": [c.BULK_REQUEST], "Operations": {"method": "POST"}},
    ],
)
def test_a_body_that_is_no_bulk_request_is_400_invalid_syntax(body: Any) -> None:
    with pytest.raises(InvalidSyntaxError):
        parse_bulk_request(body, max_operations=10)


@pytest.mark.parametrize("value", [0, -1, "1", True, 1.5])
def test_fail_on_errors_must_be_a_positive_integer(value: Any) -> None:
    with pytest.raises(InvalidValueError, match="failOnErrors"):
        parse_bulk_request(bulk(failOnErrors=value), max_operations=10)


def test_more_operations_than_max_operations_is_413() -> None:
    body = bulk(*[post_user(f"u{i}", f"u{i}") for i in range(3)])
    assert len(parse_bulk_request(body, max_operations=3).operations) == 3
    with pytest.raises(PayloadTooLargeError, match="at most 2 \\(maxOperations\\)") as raised:
        parse_bulk_request(body, max_operations=2)
    assert raised.value.status == 413


def test_no_operations_is_an_empty_request() -> None:
    assert parse_bulk_request(bulk(), max_operations=10).operations == ()


@pytest.mark.parametrize(
    ("operation", "error", "words"),
    [
        ("POST", InvalidSyntaxError, "JSON object"),
        ({"method": "GET", "path": "/Users/x"}, InvalidValueError, "'method'"),
        ({"path": "/Users/x"}, InvalidValueError, "'method'"),
        (
            {"method": "POST", "path": "/Users", "data": {"userName": "a"}},
            InvalidValueError,
            "bulkId",
        ),
        (
            {"method": "POST", "path": "/Users", "bulkId": 7, "data": {}},
            InvalidValueError,
            "bulkId",
        ),
        (
            {"method": "POST", "path": "/Users", "bulkId": "", "data": {}},
            InvalidValueError,
            "bulkId",
        ),
        (
            {"method": "PUT", "path": "/Users/x", "version": 3, "data": {}},
            InvalidValueError,
            "version",
        ),
        ({"method": "DELETE", "path": "/Schemas/x"}, InvalidPathError, "'path'"),
        ({"method": "DELETE", "path": "/Users/x/y"}, InvalidPathError, "'path'"),
        ({"method": "DELETE"}, InvalidPathError, "'path'"),
        (
            {"method": "POST", "path": "/Users/x", "bulkId": "a", "data": {}},
            InvalidPathError,
            "POST",
        ),
        ({"method": "PATCH", "path": "/Groups", "data": {}}, InvalidPathError, "PATCH"),
        (
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {}},
            InvalidValueError,
            "userName",
        ),
        ({"method": "PUT", "path": "/Groups/g", "data": []}, InvalidSyntaxError, "JSON object"),
    ],
)
def test_a_malformed_operation_carries_its_error_and_the_others_do_not(
    operation: Any, error: type[Exception], words: str
) -> None:
    bad, good = parse(operation, post_user("ok", "ok"))
    assert isinstance(bad.error, error)
    assert words in str(bad.error)
    assert good.error is None


def test_a_bulk_id_already_used_fails_the_later_operation() -> None:
    first, second, third = parse(
        post_user("a", "one"),
        post_user("a", "two"),
        {"method": "DELETE", "path": "/Users/x", "bulkId": "a"},
    )
    assert first.error is None
    assert isinstance(second.error, InvalidValueError) and "already used" in str(second.error)
    assert isinstance(third.error, InvalidValueError)


# --- references ---------------------------------------------------------------------------


def test_references_are_whole_bulk_id_strings_anywhere() -> None:
    data = {
        "members": [{"value": "bulkId:a"}, {"value": "xbulkId:b"}, {"value": "bulkId:c "}],
        "nested": [[{"deep": "bulkId:d"}]],
        "text": "see bulkId:e",
        "n": 3,
    }
    assert references_in(data) == {"a", "c ", "d"}


def test_resolve_references_replaces_known_ids_and_leaves_the_rest() -> None:
    data = {"members": [{"value": "bulkId:a"}, {"value": "bulkId:zz"}], "title": "bulkId:a!"}
    resolved = resolve_references(data, {"a": "1111"})
    assert resolved == {
        "members": [{"value": "1111"}, {"value": "bulkId:zz"}],
        "title": "bulkId:a!",
    }
    assert data["members"][0] == {"value": "bulkId:a"}  # the input is left as it was
    assert resolve_references("bulkId:a", {"a": "1111"}) == "1111"


def test_an_operation_knows_the_bulk_ids_of_its_path_and_data() -> None:
    patch, put, delete = parse(
        {
            "method": "PATCH",
            "path": "/Groups/bulkId:g",
            "data": {"Operations": [{"op": "add", "path": "members", "value": "bulkId:u"}]},
        },
        {"method": "PUT", "path": "/Users/u1", "data": {"userName": "x", "nickName": "bulkId:n"}},
        {"method": "DELETE", "path": "/Users/bulkId:d", "data": {"ignored": "bulkId:x"}},
    )
    assert patch.references == {"g", "u"} and patch.resource_id == "bulkId:g"
    assert put.references == {"n"}
    assert delete.references == {"d"}


def test_a_post_can_wait_for_its_members_and_its_manager_only() -> None:
    group, manager, bare, mixed, dropped = parse(
        post_group("g", "G", "bulkId:a", "bulkId:b", externalId="bulkId:c"),
        post_user("m", "m", **{c.ENTERPRISE_USER_SCHEMA: {"manager": {"value": "bulkId:a"}}}),
        post_user("n", "n", **{MANAGER: "bulkId:a"}),
        post_user("x", "x", nickName="bulkId:a", **{MANAGER: "bulkId:a"}),
        post_user("y", "y", unknownAttribute="bulkId:a"),
    )
    assert (group.references, group.linkable) == ({"a", "b", "c"}, {"a", "b"})
    assert (manager.references, manager.linkable) == ({"a"}, {"a"})
    assert (bare.references, bare.linkable) == ({"a"}, {"a"})
    assert (mixed.references, mixed.linkable) == ({"a"}, set())
    assert dropped.references == set()  # an attribute the normalization drops names nothing


def test_without_references_drops_the_members_and_manager_named() -> None:
    group = {"displayName": "G", "members": [{"value": "bulkId:a"}, {"value": "u1"}]}
    assert without_references(group, GROUP_RESOURCE, {"a"}) == {
        "displayName": "G",
        "members": [{"value": "u1"}],
    }
    user = {
        "userName": "x",
        c.ENTERPRISE_USER_SCHEMA: {"manager": {"value": "bulkId:a"}, "division": "R"},
    }
    assert without_references(user, USER_RESOURCE, {"a"}) == {
        "userName": "x",
        c.ENTERPRISE_USER_SCHEMA: {"division": "R"},
    }
    assert without_references(user, USER_RESOURCE, {"b"}) == user


def test_link_request_adds_members_or_replaces_the_manager() -> None:
    assert link_request(GROUP_RESOURCE, ["1", "2"]) == {
        "schemas": [c.PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": "1"}, {"value": "2"}]}],
    }
    assert link_request(USER_RESOURCE, ["1"]) == {
        "schemas": [c.PATCH_OP],
        "Operations": [{"op": "replace", "path": MANAGER, "value": {"value": "1"}}],
    }


# --- the order ----------------------------------------------------------------------------


def test_independent_operations_keep_the_clients_order() -> None:
    steps = plan_bulk(parse(post_user("a", "a"), post_user("b", "b"), post_user("c", "c")))
    assert order(steps) == [["a"], ["b"], ["c"]]


def test_an_operation_runs_after_the_posts_it_references() -> None:
    operations = parse(
        post_group("g", "G", "bulkId:u", "bulkId:v"),
        post_user("x", "x"),
        {"method": "DELETE", "path": "/Users/bulkId:v"},
        post_user("u", "u", **{MANAGER: "bulkId:v"}),
        post_user("v", "v"),
    )
    # g waits for u and v; u waits for v; the DELETE waits for v; x is free.
    assert order(plan_bulk(operations)) == [["x"], ["v"], ["2"], ["u"], ["g"]]


def test_unknown_references_and_failing_operations_add_no_wait() -> None:
    bad, group, free = parse(
        {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"nickName": "bulkId:g"}},
        post_group("g", "G", "bulkId:nobody", "bulkId:bad"),
        post_user("x", "x"),
    )
    assert bad.error is not None  # no userName
    # bad fails without waiting for g; g still runs after bad, to learn that it failed.
    assert order(plan_bulk([bad, group, free])) == [["bad"], ["g"], ["x"]]


def test_two_groups_that_contain_each_other_form_one_cyclic_step() -> None:
    steps = plan_bulk(
        parse(
            post_user("u", "u"),
            post_group("a", "A", "bulkId:b", "bulkId:u"),
            post_group("b", "B", "bulkId:a"),
            post_user("w", "w"),
        )
    )
    assert order(steps) == [["u"], ["cycle", "a", "b"], ["w"]]


def test_users_who_manage_each_other_form_one_cyclic_step() -> None:
    steps = plan_bulk(
        parse(
            post_user("a", "a", **{MANAGER: "bulkId:c"}),
            post_user("b", "b", **{MANAGER: "bulkId:a"}),
            post_user("c", "c", **{MANAGER: "bulkId:b"}),
        )
    )
    assert order(steps) == [["cycle", "a", "b", "c"]]


def test_inside_a_cycle_a_reference_that_cannot_wait_decides_the_order() -> None:
    # b names a outside members and manager, so a must exist first; a's manager waits for b.
    steps = plan_bulk(
        parse(
            post_user("b", "b", nickName="bulkId:a"),
            post_user("a", "a", **{MANAGER: "bulkId:b"}),
        )
    )
    assert order(steps) == [["cycle", "a", "b"]]


def test_a_cycle_that_cannot_be_broken_fails_each_of_its_operations_with_409() -> None:
    steps = plan_bulk(
        parse(
            post_user("a", "a", nickName="bulkId:b"),
            post_user("b", "b", nickName="bulkId:a"),
            post_user("c", "c"),
        )
    )
    assert order(steps) == [["a", "b"], ["c"]]
    for operation in steps[0].operations:
        assert isinstance(operation.error, BulkReferenceError)
        body = operation.error.to_body()
        assert (body["status"], body["scimType"]) == ("409", "invalidValue")
        assert '"a", "b"' in body["detail"]
    assert steps[1].operations[0].error is None


def test_a_self_reference_is_a_cycle_of_one() -> None:
    member_of_itself, own_nick = plan_bulk(
        parse(post_group("g", "G", "bulkId:g"), post_user("u", "u", nickName="bulkId:u"))
    )
    assert member_of_itself.cyclic
    assert not own_nick.cyclic and isinstance(own_nick.operations[0].error, BulkReferenceError)


def test_a_long_chain_of_references_is_planned_without_recursion() -> None:
    count = 5000
    operations = parse_bulk_request(
        bulk(*[post_user(f"u{i}", f"u{i}", **{MANAGER: f"bulkId:u{i + 1}"}) for i in range(count)]),
        max_operations=count,
    ).operations
    steps = plan_bulk(operations)
    assert [step.operations[0].bulk_id for step in steps] == [
        f"u{i}" for i in reversed(range(count))
    ]


# --- the response -------------------------------------------------------------------------


def test_the_response_lists_results_in_the_clients_order_with_string_statuses() -> None:
    error = BulkReferenceError('"bulkId:x" names no POST operation of this request.')
    body = bulk_response(
        [
            BulkResult(2, "DELETE", None, 204, location="https://h/scim/v2/Users/2"),
            BulkResult(0, "POST", "a", 201, location="https://h/scim/v2/Users/1", version='W/"1"'),
            BulkResult(
                1,
                "PATCH",
                None,
                409,
                location="https://h/scim/v2/Groups/9",
                response=error.to_body(),
            ),
            BulkResult(3, None, None, 400, response={"status": "400"}),
        ]
    )
    assert body == {
        "schemas": [c.BULK_RESPONSE],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "a",
                "location": "https://h/scim/v2/Users/1",
                "version": 'W/"1"',
                "status": "201",
            },
            {
                "method": "PATCH",
                "location": "https://h/scim/v2/Groups/9",
                "status": "409",
                "response": {
                    "schemas": [c.ERROR],
                    "status": "409",
                    "scimType": "invalidValue",
                    "detail": '"bulkId:x" names no POST operation of this request.',
                },
            },
            {"method": "DELETE", "location": "https://h/scim/v2/Users/2", "status": "204"},
            {"status": "400", "response": {"status": "400"}},
        ],
    }
