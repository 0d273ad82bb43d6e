"""Resource versions as ETags, and the If-Match / If-None-Match checks.

RFC 7644 section 3.14 carries a resource's version both as the ``ETag``
header and as ``meta.version``; ``make_etag`` gives the one string used for
both. Versions are weak ETags (``W/"3"``): the server does not promise
byte-identical bodies across versions of Django or of the projection.

Comparison is weak (RFC 7232 section 2.3.2: opaque tags equal, ``W/``
ignored) for both headers. RFC 7232 section 3.1 asks for strong comparison
on If-Match, which could never match a weak tag; RFC 7644 section 3.14
itself sends weak ETags in If-Match, so SCIM servers compare weakly.

Header values that are blank count as absent. A malformed If-Match
(anything that is not ``*`` or a list of quoted entity-tags) never matches,
so the write answers 412 rather than happening unconditionally; a malformed
If-None-Match never hits, so the read answers the full resource.
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import InvalidSyntaxError, PreconditionFailedError

# RFC 7232 section 2.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, with etagc any visible
# character but DQUOTE (commas included, so the list cannot simply be split on commas).
# "w/" is accepted too: some clients lower-case header values.
_ENTITY_TAG = re.compile(r'\s*((?:[Ww]/)?"[\x21\x23-\x7e\x80-\xff]*")\s*')


def make_etag(version: int) -> str:
    """The weak ETag of a resource version, as sent in ``ETag`` and ``meta.version``."""
    return f'W/"{version}"'


def parse_etags(header: str) -> list[str] | Literal["*"]:
    """Parse an If-Match or If-None-Match value into its entity-tags, or ``"*"``.

    RFC 7232 sections 3.1 and 3.2. Tags are returned as written (weak prefix
    normalized to ``W/``); empty list elements are skipped, as RFC 7230
    section 7 allows. Raises ``InvalidSyntaxError`` when the value is not a
    valid list.
    """
    if header.strip() == "*":
        return "*"
    tags: list[str] = []
    position = 0
    while position < len(header):
        if header[position] in ", \t":
            position += 1
            continue
        match = _ENTITY_TAG.match(header, position)
        if match is None:
            raise InvalidSyntaxError(f"Malformed entity-tag list: {header!r}.")
        tag = match.group(1)
        tags.append("W/" + tag[2:] if tag.startswith("w/") else tag)
        position = match.end()
        if position < len(header) and header[position] != ",":
            raise InvalidSyntaxError(f"Malformed entity-tag list: {header!r}.")
    if not tags:
        raise InvalidSyntaxError(f"Malformed entity-tag list: {header!r}.")
    return tags


def check_if_match(header: str | None, current_etag: str | None) -> None:
    """Raise ``PreconditionFailedError`` unless If-Match allows a write.

    RFC 7644 section 3.14, RFC 7232 section 3.1. ``current_etag`` is None
    when the resource does not exist, which ``*`` does not match. A blank or
    missing header imposes no condition; a malformed one never matches.
    """
    if header is None or not header.strip():
        return
    if not _matches(header, current_etag):
        raise PreconditionFailedError()


def if_none_match_hits(header: str | None, current_etag: str | None) -> bool:
    """True when If-None-Match matches, so a GET answers 304 Not Modified.

    RFC 7644 section 3.14, RFC 7232 section 3.2. A blank, missing or
    malformed header never hits.
    """
    if header is None or not header.strip():
        return False
    return _matches(header, current_etag)


def _matches(header: str, current_etag: str | None) -> bool:
    """Weak comparison of ``current_etag`` with every tag in ``header``."""
    if current_etag is None:
        return False
    try:
        tags = parse_etags(header)
    except InvalidSyntaxError:
        return False
    if tags == "*":
        return True
    current = _opaque(current_etag)
    return any(_opaque(tag) == current for tag in tags)


def _opaque(tag: str) -> str:
    return tag[2:] if tag[:2] in ("W/", "w/") else tag
