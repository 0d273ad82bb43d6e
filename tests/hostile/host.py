"""The hostile host's own DRF pieces, named by its ``REST_FRAMEWORK`` settings.

None of them may ever touch a SCIM or portal API request: each changes
answers in a way a test can see (an error envelope, 406 for anything but
``application/json``), and the host's own view (``urls.HostView``) shows that
they are live.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response


def enveloping_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The host's error envelope: ``{"error": {"status": ..., "message": ...}}``."""
    # Imported here: rest_framework.views imports this module (for the negotiation class).
    from rest_framework.views import exception_handler

    response = exception_handler(exc, context)
    if response is not None:
        response.data = {"error": {"status": response.status_code, "message": response.data}}
    return response


class JsonOnlyNegotiation(BaseContentNegotiation):
    """The host speaks ``application/json`` only: any other Accept header is a 406."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        # The media type as the client sent it, parameters (a version) included.
        accepted = request.headers.get("Accept", "application/json")
        if accepted.split(";")[0].strip() != "application/json":
            raise NotAcceptable()
        return next(iter(renderers)), accepted
