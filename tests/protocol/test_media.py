"""Media type negotiation and the Content-Type check (RFC 7644 sections 3.1 and 8.1)."""

from __future__ import annotations

import pytest

from axon_scim.protocol import constants
from axon_scim.protocol.media import (
    JSON_MEDIA_TYPE,
    MEDIA_TYPE,
    is_supported_content_type,
    negotiate_media_type,
)

SCIM = "application/scim+json"
JSON = "application/json"


def test_media_type_constants() -> None:
    assert (MEDIA_TYPE, JSON_MEDIA_TYPE) == (constants.MEDIA_TYPE, JSON) == (SCIM, JSON)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, SCIM),
        ("", SCIM),
        ("   ", SCIM),
        ("*/*", SCIM),
        ("*", SCIM),  # old Java clients
        ("application/*", SCIM),
        (SCIM, SCIM),
        (JSON, JSON),
        ("APPLICATION/SCIM+JSON", SCIM),
        ("application/scim+json; charset=utf-8", SCIM),
        ("application/json;charset=UTF-8", JSON),
        (f"{JSON}, {SCIM}", SCIM),  # equal quality: scim+json preferred
        (f"{JSON}, {SCIM};q=0.9", JSON),
        (f"{JSON};q=0.5, {SCIM};q=0.9", SCIM),
        (f"{SCIM};q=0, */*", JSON),  # the specific range excludes scim+json, */* admits JSON
        (f"{SCIM};q=0, {JSON};q=0, */*", None),
        ("application/*;q=0, application/json", JSON),
        ("text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", SCIM),
        ("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", SCIM),
        ("text/html", None),
        ("text/*, image/png", None),
        ("application/xml", None),
        (f"{SCIM};q=0", None),
        ("*/*;q=0", None),
        ("*/*;q=0.0, text/plain", None),
        (f"{SCIM}; Q=0", None),  # parameter names are case-insensitive
        (f"{SCIM};q=bogus", SCIM),  # an unreadable q counts as 1
        (f"{SCIM};q=nan", SCIM),
        (f"{SCIM};q=-1", None),  # clamped to 0
        (f"{JSON};q=0.1, {SCIM};q=7", SCIM),  # clamped to 1
        (f"{SCIM};q=0.5;ext=1", SCIM),  # accept-extensions after q are ignored
        ("nonsense, , application/json", JSON),
        (f"{SCIM};q=0, {SCIM};charset=utf-8", SCIM),  # equally specific: the best q wins
    ],
)
def test_negotiate_media_type(accept: str | None, expected: str | None) -> None:
    assert negotiate_media_type(accept) == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (SCIM, True),
        (JSON, True),
        ("application/scim+json; charset=utf-8", True),
        ("Application/JSON ; charset=UTF-8", True),
        (" application/json", True),
        (None, False),
        ("", False),
        ("text/plain", False),
        ("application/json+scim", False),  # a common misspelling, not the RFC type
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/jsonp", False),
        ("application/*", False),
    ],
)
def test_is_supported_content_type(content_type: str | None, expected: bool) -> None:
    assert is_supported_content_type(content_type) is expected
