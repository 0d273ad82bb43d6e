"""Discovery endpoints (RFC 7644 section 4) and the SCIM 404 for every other path.

They need no token, and describe what the server really does: the
ServiceProviderConfig is built from the settings, the Schemas and
ResourceTypes from the same definitions the server validates against.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request
from rest_framework.response import Response

from ..authentication import ScimPrincipal, ScimTokenAuthentication
from ..conf import scim_settings
from ..extensions import all_host_schemas, organization_schemas, resource_type
from ..models import Organization, ScimToken
from ..protocol import constants as c
from ..protocol import errors
from ..protocol.cursors import pagination_capabilities
from ..protocol.errors import UnauthorizedError
from ..protocol.listing import list_response
from ..protocol.schemas import RESOURCE_TYPES, SCHEMAS, ResourceType, Schema
from .base import ScimView

__all__ = [
    "DiscoveryView",
    "NotFoundView",
    "ResourceTypeDetailView",
    "ResourceTypeListView",
    "SchemaDetailView",
    "SchemaListView",
    "ServiceProviderConfigView",
]


class DiscoveryView(ScimView):
    """Discovery endpoints need no token (RFC 7644 section 4)."""

    authentication_classes = []
    permission_classes = []
    uses_database = False


class ServiceProviderConfigView(DiscoveryView):
    """GET /ServiceProviderConfig: what this server really supports (RFC 7643 section 5)."""

    def get(self, request: Request) -> Response:
        base = self.base_url()
        return Response(
            {
                "schemas": [c.SERVICE_PROVIDER_CONFIG_SCHEMA],
                "documentationUri": "https://github.com/axon-scim/axon-scim#readme",
                "patch": {"supported": True},
                "bulk": {
                    "supported": True,
                    "maxOperations": scim_settings.BULK_MAX_OPERATIONS,
                    "maxPayloadSize": scim_settings.BULK_MAX_PAYLOAD_BYTES,
                },
                "filter": {"supported": True, "maxResults": scim_settings.MAX_PAGE_SIZE},
                "changePassword": {"supported": bool(scim_settings.STORE_PASSWORD)},
                "sort": {"supported": True},
                "etag": {"supported": True},
                "pagination": pagination_capabilities(
                    default_page_size=scim_settings.DEFAULT_PAGE_SIZE,
                    max_page_size=scim_settings.MAX_PAGE_SIZE,
                    cursor_timeout=scim_settings.CURSOR_TIMEOUT,
                ),
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "OAuth Bearer Token",
                        "description": "A bearer token of one organization, created in the portal.",
                        "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                        "primary": True,
                    }
                ],
                "meta": {
                    "resourceType": "ServiceProviderConfig",
                    "location": f"{base}/ServiceProviderConfig",
                },
            }
        )


class OptionalTokenAuthentication(ScimTokenAuthentication):
    """A valid bearer token names an organization; no token, or a bad one, names none."""

    def authenticate(self, request: Request) -> tuple[ScimPrincipal, ScimToken] | None:
        try:
            return super().authenticate(request)
        except UnauthorizedError:
            return None


class ExtensibleDiscoveryView(DiscoveryView):
    """Schemas and ResourceTypes: with a token, the organization's own extensions are listed too."""

    authentication_classes = [OptionalTokenAuthentication]
    uses_database = True

    def caller_organization(self) -> Organization | None:
        principal = self.request.user
        return principal.organization if isinstance(principal, ScimPrincipal) else None

    def resource_types(self) -> tuple[ResourceType, ...]:
        organization = self.caller_organization()
        return tuple(resource_type(rt, organization) for rt in RESOURCE_TYPES)

    def schemas(self) -> tuple[Schema, ...]:
        return (*SCHEMAS, *all_host_schemas(), *organization_schemas(self.caller_organization()))


class SchemaListView(ExtensibleDiscoveryView):
    """GET /Schemas."""

    def get(self, request: Request) -> Response:
        docs = [schema.to_document(self.base_url()) for schema in self.schemas()]
        return Response(list_response(docs, len(docs), 1))


class SchemaDetailView(ExtensibleDiscoveryView):
    """GET /Schemas/{id}."""

    def get(self, request: Request, schema_id: str) -> Response:
        for schema in self.schemas():
            if schema.id == schema_id:
                return Response(schema.to_document(self.base_url()))
        raise errors.NotFoundError(f'Schema "{schema_id}" not found.')


class ResourceTypeListView(ExtensibleDiscoveryView):
    """GET /ResourceTypes."""

    def get(self, request: Request) -> Response:
        docs = [rt.to_document(self.base_url()) for rt in self.resource_types()]
        return Response(list_response(docs, len(docs), 1))


class ResourceTypeDetailView(ExtensibleDiscoveryView):
    """GET /ResourceTypes/{name}."""

    def get(self, request: Request, name: str) -> Response:
        for found in self.resource_types():
            if found.name == name:
                return Response(found.to_document(self.base_url()))
        raise errors.NotFoundError(f'ResourceType "{name}" not found.')


class NotFoundView(DiscoveryView):
    """Any other path under the SCIM root: a SCIM 404, never an HTML page."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        self.format_kwarg = None  # negotiation needs it: the 404 answers in the Accept'ed type
        response = self.handle_exception(errors.NotFoundError("No such SCIM endpoint."))
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
