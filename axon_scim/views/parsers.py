"""The one request-body parser of the SCIM views: bounded, strict JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any, NoReturn

from rest_framework.parsers import BaseParser

from ..conf import scim_settings
from ..protocol import errors
from ..protocol.media import is_supported_content_type
from ..protocol.text import find_bad_text

__all__ = ["ScimParser"]


class ScimParser(BaseParser):
    """Parses JSON bodies sent as ``application/scim+json`` or ``application/json``.

    The body is read with a limit, so a client cannot make the server buffer
    more than ``MAX_REQUEST_BYTES`` (or the view's own limit, as /Bulk's) even
    without a Content-Length. A string holding NUL or a lone surrogate is
    refused here, for every endpoint at once (``protocol.text``): 400
    invalidValue naming the string.
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
        # NUL and lone surrogates can only arrive as \u escapes; no attribute may hold either.
        bad = find_bad_text(body) if b"\\u" in raw else None
        if bad is not None:
            raise errors.InvalidValueError(bad.message())
        return body


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")
