"""``GET schema``: the portal API's OpenAPI document, behind the same gate as the API.

The document is drf-spectacular's (the ``openapi`` extra); without it this
endpoint answers 501 and everything else works unchanged. YAML by default
(as committed in ``docs/portal-api.openapi.yaml``), JSON with ``?format=json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.util import find_spec
from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .policy import PortalJSONRenderer, PortalView

__all__ = ["OpenApiJSONRenderer", "OpenApiYAMLRenderer", "PortalSchemaView", "SchemaUnavailable"]


class SchemaUnavailable(APIException):
    """drf-spectacular is not installed, so there is no document to serve."""

    status_code = status.HTTP_501_NOT_IMPLEMENTED
    default_detail = "The OpenAPI document needs drf-spectacular: pip install 'axon-scim[openapi]'."


class OpenApiYAMLRenderer(BaseRenderer):
    """The document as YAML, through drf-spectacular's renderer; errors as JSON (valid YAML)."""

    media_type = "application/vnd.oai.openapi"
    format = "yaml"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if find_spec("drf_spectacular") is None:
            return json.dumps(data).encode()
        from .openapi import render_yaml

        return render_yaml(data)


class OpenApiJSONRenderer(PortalJSONRenderer):
    """The document as JSON, with the portal's pinned JSON settings."""

    media_type = "application/vnd.oai.openapi+json"
    format = "json"


class PortalSchemaView(PortalView):
    """GET schema: the OpenAPI 3 description of this API, as the host mounts it."""

    renderer_classes = [OpenApiYAMLRenderer, OpenApiJSONRenderer]

    def get(self, request: Request) -> Response:
        if find_spec("drf_spectacular") is None:
            raise SchemaUnavailable()
        from .openapi import portal_schema

        return Response(portal_schema(request))
