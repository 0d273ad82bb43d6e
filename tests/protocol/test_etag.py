"""ETags and conditional requests (RFC 7644 section 3.14, RFC 7232)."""

from __future__ import annotations

import pytest

from axon_scim.protocol.errors import InvalidSyntaxError, PreconditionFailedError
from axon_scim.protocol.etag import check_if_match, if_none_match_hits, make_etag, parse_etags


@pytest.mark.parametrize(("version", "expected"), [(0, 'W/"0"'), (1, 'W/"1"'), (42, 'W/"42"')])
def test_make_etag(version: int, expected: str) -> None:
    assert make_etag(version) == expected


def test_make_etag_round_trips_through_parse() -> None:
    assert parse_etags(make_etag(7)) == ['W/"7"']


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("*", "*"),
        ("  *  ", "*"),
        ('"1"', ['"1"']),
        ('W/"1"', ['W/"1"']),
        ('w/"1"', ['W/"1"']),
        ('""', ['""']),
        ('W/"1", "2"', ['W/"1"', '"2"']),
        ('W/"1","2" ,  W/"3"', ['W/"1"', '"2"', 'W/"3"']),
        ('"a,b", W/"c"', ['"a,b"', 'W/"c"']),  # commas are legal inside an opaque tag
        (' , "1",, "2" ,', ['"1"', '"2"']),  # empty list elements are skipped (RFC 7230 7)
        ('\t"x"\t', ['"x"']),
    ],
)
def test_parse_etags(header: str, expected: object) -> None:
    assert parse_etags(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        " , ",
        "1",  # unquoted
        "W/1",
        '"1',  # unterminated
        '"1" "2"',  # no comma between tags
        '*, "1"',  # * stands alone
        'W/ "1"',
        'X/"1"',
        '"a"b',
        '"with space"',  # SP is not an etagc
    ],
)
def test_parse_etags_rejects_malformed(header: str) -> None:
    with pytest.raises(InvalidSyntaxError) as caught:
        parse_etags(header)
    assert caught.value.to_body() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "invalidSyntax",
        "detail": f"Malformed entity-tag list: {header!r}.",
    }


@pytest.mark.parametrize(
    ("header", "current"),
    [
        (None, 'W/"3"'),
        ("", 'W/"3"'),
        ("   ", 'W/"3"'),
        (None, None),  # no condition: even a missing resource is not a 412 here
        ("*", 'W/"3"'),
        ('W/"3"', 'W/"3"'),
        ('"3"', 'W/"3"'),  # weak comparison ignores W/
        ('w/"3"', 'W/"3"'),
        ('W/"3"', '"3"'),
        ('W/"1", W/"3"', 'W/"3"'),
    ],
)
def test_check_if_match_allows(header: str | None, current: str | None) -> None:
    check_if_match(header, current)


@pytest.mark.parametrize(
    ("header", "current"),
    [
        ('W/"2"', 'W/"3"'),
        ('W/"1", "2"', 'W/"3"'),
        ('W/"30"', 'W/"3"'),
        ('W/"3"', None),
        ("*", None),  # * needs an existing resource
        ("3", 'W/"3"'),  # malformed: never matches, the write does not happen
        ('W/"3" W/"3"', 'W/"3"'),
    ],
)
def test_check_if_match_fails(header: str, current: str | None) -> None:
    with pytest.raises(PreconditionFailedError) as caught:
        check_if_match(header, current)
    assert caught.value.to_body() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "412",
        "detail": "The resource has changed since the version given in If-Match.",
    }


@pytest.mark.parametrize(
    ("header", "current", "expected"),
    [
        (None, 'W/"3"', False),
        ("", 'W/"3"', False),
        ("*", 'W/"3"', True),
        ("*", None, False),
        ('W/"3"', 'W/"3"', True),
        ('"3"', 'W/"3"', True),
        ('W/"1", W/"3"', 'W/"3"', True),
        ('W/"2"', 'W/"3"', False),
        ('W/"3"', None, False),
        ("3", 'W/"3"', False),  # malformed: answer the full resource
        ('"3', 'W/"3"', False),
    ],
)
def test_if_none_match_hits(header: str | None, current: str | None, expected: bool) -> None:
    assert if_none_match_hits(header, current) is expected
