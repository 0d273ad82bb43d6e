"""Cursor pages (RFC 9865): signed cursors, and one keyset page of a queryset.

A cursor is ``protocol.cursors.CursorState`` signed with Django's
``TimestampSigner`` (``SECRET_KEY``, this module's salt, ``.`` as the
separator so that the whole cursor stays within RFC 3986's unreserved
characters). A cursor whose signature fails is a 400 ``invalidCursor``; one
older than ``CURSOR_TIMEOUT`` seconds is a 400 ``expiredCursor``; one signed
for another query or organization (its fingerprint differs) is a 400
``invalidCursor`` too.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db.models import QuerySet

from ..conf import scim_settings
from ..protocol.cursors import CursorState, Position
from ..protocol.errors import ExpiredCursorError, InvalidCursorError
from ..querying import SORT_KEY, Keyset

__all__ = ["keyset_page", "position_of", "read_cursor", "sign_cursor"]

SALT = "axon_scim.cursor"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, sep=".")


def sign_cursor(state: CursorState) -> str:
    """The opaque, signed cursor text of ``state``."""
    return _signer().sign_object(state.to_payload())


def read_cursor(text: str, fingerprint: str) -> CursorState:
    """The state a cursor carries, if it is ours, fresh, and of the query ``fingerprint`` names."""
    try:
        payload = _signer().unsign_object(text, max_age=scim_settings.CURSOR_TIMEOUT)
    except signing.SignatureExpired as exc:
        raise ExpiredCursorError(
            f"The cursor is older than {scim_settings.CURSOR_TIMEOUT} seconds (cursorTimeout):"
            " start again with an empty cursor."
        ) from exc
    except signing.BadSignature as exc:
        raise InvalidCursorError() from exc
    state = CursorState.from_payload(payload)
    if state.fingerprint != fingerprint:
        raise InvalidCursorError(
            "The cursor belongs to another query: repeat the filter, sortBy, sortOrder,"
            " attributes and excludedAttributes of its first page."
        )
    return state


def keyset_page(
    rows: QuerySet[Any], keyset: Keyset, position: Position | None, count: int
) -> tuple[list[Any], bool]:
    """Up to ``count`` rows after ``position`` in ``keyset``'s order, and whether more follow.

    One query, ``LIMIT count + 1``: the extra row only tells whether another
    page follows.
    """
    ordered = keyset.order(rows)
    if position is not None:
        ordered = ordered.filter(keyset.after(*position))
    page = list(ordered[: count + 1])
    return page[:count], len(page) > count


def position_of(row: Any) -> Position:
    """The keyset position of a row of ``keyset_page``: its sort key and its id."""
    return getattr(row, SORT_KEY), row.pk
