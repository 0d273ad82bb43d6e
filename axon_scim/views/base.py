"""``ScimView``, the base of every SCIM endpoint, and its whole DRF policy.

Each policy is set here explicitly, so a host project's ``REST_FRAMEWORK``
defaults never change how SCIM answers: authentication, permissions,
throttles, versioning, content negotiation, parsers, renderers, pagination,
filter backends, metadata and the exception handler. ``tests/hostile`` runs
the SCIM flows under a host that sets every one of those defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, cast

from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..audit import Actor, request_actor
from ..authentication import ScimPrincipal, ScimTokenAuthentication
from ..conf import scim_settings
from ..models import Organization, ScimToken
from ..permissions import HasScimToken
from ..protocol import errors
from ..protocol.filter import Filter, FilterLimits, check_filter_cost, parse_filter
from ..protocol.listing import ListQuery
from ..protocol.schemas import ResourceType
from ..throttling import ScimTokenRateThrottle
from ..timeouts import reset_statement_timeout, set_statement_timeout
from .errors import scim_exception_handler
from .negotiation import ScimContentNegotiation
from .parsers import ScimParser
from .renderers import PlainJsonRenderer, ScimRenderer

__all__ = ["ScimView"]


class ScimView(APIView):
    """Base of every SCIM endpoint: wire format, errors, tenant, actor."""

    authentication_classes = [ScimTokenAuthentication]
    permission_classes = [HasScimToken]
    renderer_classes = [ScimRenderer, PlainJsonRenderer]
    parser_classes = [ScimParser]
    content_negotiation_class = ScimContentNegotiation
    throttle_classes = [ScimTokenRateThrottle]
    versioning_class = None  # the version is in the path, /scim/v2
    metadata_class = SimpleMetadata
    # SCIM pages and filters by RFC 7644 (ListQuery), never with DRF's paginators or
    # filter backends; set all the same, so that no host default can reach a subclass.
    pagination_class = None
    filter_backends: tuple[()] = ()
    # Endpoints that answer without the database (discovery) skip the statement timeout.
    uses_database = True
    timed_aliases: list[str] = []
    schema = None  # no generated OpenAPI: docs/scim.openapi.yaml describes /scim/v2 by hand

    def get_exception_handler(self) -> Callable[..., Response]:
        return scim_exception_handler

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            reset_statement_timeout(self.timed_aliases)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # 413 before anything reads the body (RFC 7644 section 3.12).
        length, limit = request.META.get("CONTENT_LENGTH") or "0", self.max_request_bytes()
        if length.isdigit() and int(length) > limit:
            raise errors.PayloadTooLargeError(f"The request body exceeds {limit} bytes.")
        if self.uses_database:
            # Before authentication, so that the token lookup is bounded too (see timeouts).
            self.timed_aliases = set_statement_timeout(scim_settings.STATEMENT_TIMEOUT)
        super().initial(request, *args, **kwargs)

    def http_method_not_allowed(
        self, request: HttpRequest | Request, *args: Any, **kwargs: Any
    ) -> NoReturn:
        raise errors.MethodNotAllowedError(f'Method "{request.method}" is not allowed here.')

    def max_request_bytes(self) -> int:
        """The largest body this endpoint reads (413 past it); ``ScimParser`` asks it too."""
        return int(scim_settings.MAX_REQUEST_BYTES)

    @property
    def organization(self) -> Organization:
        return cast(ScimPrincipal, self.request.user).organization

    def base_url(self) -> str:
        """The absolute URL of the SCIM root, without a trailing slash."""
        return self.request.build_absolute_uri(reverse("axon_scim:root")).rstrip("/")

    def actor(self) -> Actor:
        return request_actor(self.request, token=cast(ScimToken, self.request.auth))

    def body(self) -> Any:
        """The parsed JSON body; 415 without a Content-Type, 400 when empty."""
        data = self.request.data
        if data is None or data == {}:
            if not self.request.META.get("CONTENT_TYPE"):
                raise errors.UnsupportedMediaTypeError()
            raise errors.InvalidSyntaxError("The request body is empty.")
        return data

    def parse_filter(self, text: str, resource: ResourceType | None) -> Filter:
        """``text`` parsed; 400 ``tooMany`` past the filter limits of the settings."""
        limits = FilterLimits(
            max_terms=scim_settings.MAX_FILTER_TERMS,
            max_subqueries=scim_settings.MAX_FILTER_SUBQUERIES,
        )
        expr = parse_filter(text)
        check_filter_cost(expr, limits, resource)
        return expr

    def list_query(self, resource: ResourceType | None, body: Any = None) -> ListQuery:
        """The list parameters: of a SearchRequest ``body`` if given, else of the query string."""
        limits = {
            "default_count": scim_settings.DEFAULT_PAGE_SIZE,
            "max_count": scim_settings.MAX_PAGE_SIZE,
        }
        if body is not None:
            return ListQuery.from_search_request(body, resource, **limits)
        return ListQuery.from_query_params(self.request.query_params, resource, **limits)
