"""The SCIM media type, content negotiation and the request Content-Type check.

RFC 7644 section 3.1 and section 8.1: SCIM messages are
``application/scim+json``; servers also answer clients that accept only
``application/json``, and accept request bodies in either (Entra ID and
many scripts send ``application/json``).

Decisions where HTTP leaves room (RFC 7231 section 5.3): a missing or blank
Accept header accepts anything; a bare ``*`` (sent by old Java clients) is
read as ``*/*``; an element without a ``/`` is ignored; a ``q`` value that
is not a number counts as 1, one outside 0..1 is clamped. Each answerable
type takes the quality of the most specific range that matches it, so
``application/*;q=0, application/json`` still accepts JSON.
"""

from __future__ import annotations

import math

from .constants import MEDIA_TYPE

__all__ = [
    "JSON_MEDIA_TYPE",
    "MEDIA_TYPE",
    "is_supported_content_type",
    "negotiate_media_type",
]

JSON_MEDIA_TYPE = "application/json"

# What the server can answer with, in order of preference.
_ANSWERABLE = (MEDIA_TYPE, JSON_MEDIA_TYPE)

# (type, subtype, quality) of one Accept element.
_Range = tuple[str, str, float]


def negotiate_media_type(accept_header: str | None) -> str | None:
    """The media type to answer with, or None when the client accepts neither (406).

    RFC 7231 section 5.3.2, RFC 7644 section 8.1. ``application/scim+json``
    is preferred when both are equally acceptable.
    """
    if accept_header is None or not accept_header.strip():
        return MEDIA_TYPE
    ranges = _parse_accept(accept_header)
    best, best_quality = None, 0.0
    for candidate in _ANSWERABLE:
        quality = _quality(candidate, ranges)
        if quality > best_quality:
            best, best_quality = candidate, quality
    return best


def is_supported_content_type(content_type: str | None) -> bool:
    """Whether a request body's Content-Type is scim+json or JSON, parameters allowed (else 415)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in _ANSWERABLE


def _parse_accept(header: str) -> list[_Range]:
    ranges: list[_Range] = []
    for element in header.split(","):
        media_range, *params = (part.strip() for part in element.split(";"))
        if media_range == "*":
            media_range = "*/*"
        main, _, sub = media_range.lower().partition("/")
        if not main or not sub:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                quality = _parse_quality(value.strip())
                # Parameters after q are accept-extensions (RFC 7231 section 5.3.2), not ours.
                break
        ranges.append((main, sub, quality))
    return ranges


def _parse_quality(value: str) -> float:
    try:
        quality = float(value)
    except ValueError:
        return 1.0
    if not math.isfinite(quality):
        return 1.0
    return min(1.0, max(0.0, quality))


def _quality(media_type: str, ranges: list[_Range]) -> float:
    """The quality the most specific matching range gives ``media_type`` (0 if none matches)."""
    main, sub = media_type.split("/")
    best_specificity, quality = -1, 0.0
    for range_main, range_sub, range_quality in ranges:
        if (range_main, range_sub) == (main, sub):
            specificity = 2
        elif (range_main, range_sub) == (main, "*"):
            specificity = 1
        elif (range_main, range_sub) == ("*", "*"):
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, quality = specificity, range_quality
        elif specificity == best_specificity:
            quality = max(quality, range_quality)
    return quality
