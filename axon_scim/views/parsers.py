"""The one request-body parser of the SCIM views: bounded, strict JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any, NoReturn

from rest_framework.parsers import BaseParser

from ..conf import scim_settings
from ..protocol import errors
from ..protocol.media import is_supported_content_type

__all__ = ["ScimParser"]


class ScimParser(BaseParser):
    """Parses JSON bodies sent as ``application/scim+json`` or ``application/json``.

    The body is read with a limit, so a client cannot make the server buffer
    more than ``MAX_REQUEST_BYTES`` (or the view's own limit, as /Bulk's) even
    without a Content-Length.
    """

    media_type = "application/*"

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if not is_supported_content_type(media_type):
            raise errors.UnsupportedMediaTypeError()
        view_limit = getattr((parser_context or {}).get("view"), "max_request_bytes", None)
        limit = view_limit() if view_limit else scim_settings.MAX_REQUEST_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise errors.PayloadTooLargeError(f"The request body exceeds {limit} bytes.")
        if not raw.strip():
            return None
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except RecursionError:
            raise errors.InvalidSyntaxError("The request body is nested too deeply.") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise errors.InvalidSyntaxError(f"The request body is not valid JSON: {exc}") from None
        # JSON can carry NUL only as the escape \u0000; no attribute may hold it.
        if b"\\u0000" in raw and _has_nul(body):
            raise errors.InvalidValueError("Values must not contain NUL characters.")
        return body


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False
