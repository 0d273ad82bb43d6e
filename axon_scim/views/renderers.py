"""The two wire formats a SCIM answer can take (RFC 7644 section 8.1).

``ScimContentNegotiation`` picks between them by the Accept header.
"""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer

from ..protocol import constants as c
from ..protocol.media import JSON_MEDIA_TYPE

__all__ = ["PlainJsonRenderer", "ScimRenderer"]


class ScimRenderer(JSONRenderer):
    """Renders ``application/scim+json`` (RFC 7644 section 8.1)."""

    media_type = c.MEDIA_TYPE
    format = "scim"
    charset = None
    # DRF's defaults, pinned: a host's UNICODE_JSON, COMPACT_JSON or STRICT_JSON
    # must not change SCIM bodies.
    ensure_ascii = False
    compact = True
    strict = True


class PlainJsonRenderer(ScimRenderer):
    """Renders the same bodies as ``application/json`` for clients that ask for it by name."""

    media_type = JSON_MEDIA_TYPE
    format = "json"
