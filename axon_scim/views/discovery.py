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

from ..conf import scim_settings
from ..protocol import constants as c
from ..protocol import errors
from ..protocol.listing import list_response
from ..protocol.schemas import RESOURCE_TYPES, SCHEMAS
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


class SchemaListView(DiscoveryView):
    """GET /Schemas."""

    def get(self, request: Request) -> Response:
        docs = [schema.to_document(self.base_url()) for schema in SCHEMAS]
        return Response(list_response(docs, len(docs), 1))


class SchemaDetailView(DiscoveryView):
    """GET /Schemas/{id}."""

    def get(self, request: Request, schema_id: str) -> Response:
        for schema in SCHEMAS:
            if schema.id == schema_id:
                return Response(schema.to_document(self.base_url()))
        raise errors.NotFoundError(f'Schema "{schema_id}" not found.')


class ResourceTypeListView(DiscoveryView):
    """GET /ResourceTypes."""

    def get(self, request: Request) -> Response:
        docs = [rt.to_document(self.base_url()) for rt in RESOURCE_TYPES]
        return Response(list_response(docs, len(docs), 1))


class ResourceTypeDetailView(DiscoveryView):
    """GET /ResourceTypes/{name}."""

    def get(self, request: Request, name: str) -> Response:
        for resource_type in RESOURCE_TYPES:
            if resource_type.name == name:
                return Response(resource_type.to_document(self.base_url()))
        raise errors.NotFoundError(f'ResourceType "{name}" not found.')


class NotFoundView(DiscoveryView):
    """Any other path under the SCIM root: a SCIM 404, never an HTML page."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        response = self.handle_exception(errors.NotFoundError("No such SCIM endpoint."))
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
