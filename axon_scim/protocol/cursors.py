"""Cursor pagination (RFC 9865): what a cursor holds, and how the server advertises it.

A cursor names a keyset position, never an offset: the sort key and the id
of the last row a page served. The next page is the rows after that position
in the same order, so it costs the same at any depth, and a row that exists
for the whole walk is served exactly once however many rows are inserted or
deleted meanwhile. The cursor also holds a fingerprint of the query it
belongs to (organization, resource type, filter, sort, attributes), so that
it cannot continue any other.

This module is the pure part: the state, its JSON payload and the
fingerprint. The views sign the payload (Django's signing, with a salt and
an expiry) so that a client can neither read a position into a cursor nor
forge one; a cursor is opaque, as section 2 asks, but it is not encrypted.

Decisions where RFC 9865 leaves room:

- ``count`` may differ from page to page: a keyset position does not depend
  on it, so nothing is gained by refusing it (section 2.1's ``invalidCount``).
- ``totalResults`` is given on the first page (empty ``cursor``) and on any
  ``count=0`` request, and left out of the pages after the first (section 2
  lets a provider omit it): an exact count costs a scan of every matching
  row, which would make each page of a walk as dear as the whole walk.
- There is no ``previousCursor`` (optional in section 2).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import constants as c
from .errors import InvalidCursorError
from .filter import parse_filter
from .listing import ListQuery

__all__ = ["CursorState", "Position", "pagination_capabilities", "query_fingerprint"]

# (sort key, id) of the last row served; the sort key may be None (an absent value).
Position = tuple[Any, Any]


def query_fingerprint(organization_id: object, resource: str, query: ListQuery) -> str:
    """A digest of everything a cursor is bound to, so another query's cursor is refused.

    The filter is compared as parsed (so whitespace does not matter),
    ``sortBy`` case-insensitively (attribute names are), and the attribute
    lists as sets.
    """
    parts = [
        str(organization_id),
        resource,
        repr(parse_filter(query.filter)) if query.filter else None,
        query.sort_by.lower() if query.sort_by else None,
        query.sort_order,
        sorted(query.attributes),
        sorted(query.excluded_attributes),
    ]
    digest = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class CursorState:
    """What a cursor carries: its query's fingerprint, and a position (None: the start)."""

    fingerprint: str
    position: Position | None

    def to_payload(self) -> dict[str, Any]:
        """The JSON object the views sign."""
        payload: dict[str, Any] = {"q": self.fingerprint}
        if self.position is not None:
            payload["k"] = _encode(self.position[0])
            payload["id"] = _encode(self.position[1])
        return payload

    @classmethod
    def from_payload(cls, payload: Any) -> CursorState:
        """The state of a signed payload; ``InvalidCursorError`` if it is not one of ours."""
        if not isinstance(payload, Mapping) or not isinstance(payload.get("q"), str):
            raise InvalidCursorError()
        if "id" not in payload:
            return cls(payload["q"], None)
        return cls(payload["q"], (_decode(payload.get("k")), _decode(payload["id"])))


def pagination_capabilities(
    *, default_page_size: int, max_page_size: int, cursor_timeout: int
) -> dict[str, Any]:
    """The ServiceProviderConfig ``pagination`` attribute (RFC 9865 section 4).

    Index pagination stays the default, as section 2 advises a server that
    had only index pagination before.
    """
    return {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": c.PAGINATION_INDEX,
        "defaultPageSize": default_page_size,
        "maxPageSize": max_page_size,
        "cursorTimeout": cursor_timeout,
    }


# Sort keys and ids as JSON: each value tagged with its type, so it decodes to the
# same Python value the database gave (a datetime stays a datetime, a UUID a UUID).
def _encode(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, Decimal):  # a custom attribute's integer or decimal
        return ["d", str(value)]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["u", str(value)]
    raise TypeError(f"Cannot put a {type(value).__name__} sort key in a cursor.")


_DECODERS: dict[str, Any] = {
    "b": lambda v: v if isinstance(v, bool) else _invalid(),
    "i": lambda v: v if isinstance(v, int) and not isinstance(v, bool) else _invalid(),
    "s": lambda v: v if isinstance(v, str) else _invalid(),
    "d": lambda v: Decimal(v) if isinstance(v, str) else _invalid(),
    "t": datetime.fromisoformat,
    "u": uuid.UUID,
}


def _decode(value: Any) -> Any:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and value[0] in _DECODERS):
        _invalid()
    try:
        return _DECODERS[value[0]](value[1])
    except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise InvalidCursorError() from exc


def _invalid() -> Any:
    raise InvalidCursorError()
