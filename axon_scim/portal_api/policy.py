"""``PortalView``, the base of every portal endpoint, and the DRF policy classes it sets.

``PortalView`` sets the whole DRF policy of the API (authentication,
permissions, throttles, versioning, content negotiation, parsers, renderers,
pagination, filter backends, metadata, exception handler, JSON and date
formats), so a host project's ``REST_FRAMEWORK`` defaults change nothing here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import generics
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError, Throttled, ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import APISettings
from rest_framework.views import exception_handler

from .. import services
from ..audit import request_actor
from ..models import Organization
from ..permissions import CanConfigureSso, HasSessionOrganization, session_organization
from ..protocol.errors import NotFoundError, ScimError
from ..protocol.text import find_bad_text
from ..throttling import PortalUserRateThrottle

__all__ = [
    "CsvRenderer",
    "PortalContentNegotiation",
    "PortalJSONParser",
    "PortalJSONRenderer",
    "PortalPagination",
    "PortalView",
    "openapi_inspector",
    "portal_actor",
    "portal_exception_handler",
]

logger = logging.getLogger("axon_scim.portal_api")


def openapi_inspector() -> Any:
    """drf-spectacular's ``AutoSchema`` where the ``openapi`` extra is installed, else None.

    Set on the views so that the host's ``DEFAULT_SCHEMA_CLASS`` never applies;
    None leaves the API out of any schema (DRF's rule), as nothing could describe it.
    """
    try:
        from drf_spectacular.openapi import AutoSchema
    except ImportError:
        return None
    return AutoSchema()


def portal_actor(request: Request) -> services.Actor:
    """The audit actor of a portal write: the signed-in user and where the request came from."""
    return request_actor(request, user=request.user)


def portal_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Every error answers JSON ``{"detail": ...}``: service errors with their status,
    DRF's as DRF does, and anything else as a 500 that reveals nothing (logged)."""
    if isinstance(exc, ScimError):
        return Response({"detail": exc.detail}, status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "The request body is too large."}, status=413)
    if isinstance(exc, Throttled):
        # Answered here: DRF's handler would roll back a host's ATOMIC_REQUESTS
        # transaction, and with it the audit event of the throttling.
        wait = getattr(exc, "wait", None) or 1
        return Response(
            {"detail": f"Too many requests; retry after {wait} seconds."},
            status=429,
            headers={"Retry-After": str(wait)},
        )
    response = exception_handler(exc, context)
    if response is not None:
        return response
    logger.exception("Portal API request failed", exc_info=exc)
    return Response({"detail": "An internal error occurred. It has been logged."}, status=500)


class PortalJSONParser(JSONParser):
    """DRF's JSON parser, with a 400 for bodies nested too deeply to parse, and for
    strings holding NUL or a lone surrogate (``protocol.text``), as the SCIM parser does."""

    strict = True  # NaN and Infinity are not JSON, whatever the host's STRICT_JSON

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            body = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("The request body is nested too deeply.") from None
        bad = find_bad_text(body)
        if bad is not None:
            raise ParseError(bad.message())
        return body


class PortalJSONRenderer(JSONRenderer):
    """DRF's JSON renderer with its defaults pinned against the host's *_JSON settings."""

    ensure_ascii = False
    compact = True
    strict = True


class CsvRenderer(BaseRenderer):
    """``?format=csv`` on the access review; errors are rendered as plain text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        return str(detail).encode()


class PortalContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with ``?format=`` on whatever the host's ``URL_FORMAT_OVERRIDE``."""

    # DRF's defaults but for this one key; the stubs type ``settings`` as the global object.
    settings = APISettings(user_settings={"URL_FORMAT_OVERRIDE": "format"})  # type: ignore[assignment]


class PortalPagination(LimitOffsetPagination):
    """``?limit=&offset=`` pages: ``{"count", "next", "previous", "results"}``.

    Unlike DRF's, a ``limit`` or ``offset`` that is not a whole number (at
    least 1 for ``limit``) answers 400 instead of being ignored. A ``limit``
    over ``max_limit`` is capped; an offset past the end answers an empty page.
    """

    default_limit = 50
    max_limit = 500

    def get_limit(self, request: Request) -> int:
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return min(self._whole_number(self.limit_query_param, raw, 1), self.max_limit)

    def get_offset(self, request: Request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        return 0 if raw is None else self._whole_number(self.offset_query_param, raw, 0)

    @staticmethod
    def _whole_number(name: str, raw: str, minimum: int) -> int:
        if not (raw.isascii() and raw.isdigit()) or int(raw[:20]) < minimum:
            raise ValidationError({name: [f"A whole number of at least {minimum} is required."]})
        # Past any table and any limit: no need to read thousands of digits.
        return int(raw) if len(raw) <= 20 else 10**20

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["description"] = (
            f"Results per page: {self.default_limit} by default, {self.max_limit} at most "
            "(a larger limit is capped)."
        )
        limit["schema"] = {"type": "integer", "minimum": 1}
        offset["schema"] = {"type": "integer", "minimum": 0}
        return [limit, offset]


class PortalMetadata(SimpleMetadata):
    """OPTIONS: the view's name, description and media types, without DRF's "actions".

    DRF describes a PUT by calling ``get_object()``, which views without a
    queryset (the role mapping) do not have; the OpenAPI document describes
    the request bodies instead.
    """

    def determine_actions(self, request: Any, view: Any) -> dict[str, Any]:
        return {}


class PortalView(generics.GenericAPIView):
    """Base of every portal endpoint: session login, the gate, JSON, service errors."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated, HasSessionOrganization, CanConfigureSso]
    renderer_classes = [PortalJSONRenderer]
    parser_classes = [PortalJSONParser]
    pagination_class = PortalPagination
    content_negotiation_class = PortalContentNegotiation
    throttle_classes = [PortalUserRateThrottle]
    versioning_class = None  # the version is in the path, /api/v1
    metadata_class = PortalMetadata
    filter_backends: tuple[()] = ()  # filters are the views' own (AuditEventFilterSerializer)
    schema = openapi_inspector()  # described in portal_api/openapi.py

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return portal_exception_handler

    @property
    def organization(self) -> Organization:
        """The session's organization; the gate has made sure there is one."""
        organization = session_organization(self.request)
        if organization is None:  # unreachable past the gate; never fall back to anything
            raise NotFoundError()
        return organization
