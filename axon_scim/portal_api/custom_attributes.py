"""The portal API of an organization's own custom attributes.

``GET/POST custom-attributes`` and ``DELETE custom-attributes/{id}``, gated
as the rest of the portal API (``PortalView``: session, CSRF, ``sso:configure``
on the session's organization); the changes go through
``services.declare_custom_attribute`` and ``services.delete_custom_attribute``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..extension_models import ATTRIBUTE_TYPES, RESOURCE_TYPES, CustomAttribute
from ..extensions import organization_urn
from ..protocol.errors import NotFoundError
from .policy import PortalView, portal_actor
from .serializers import PortalModelSerializer


class CustomAttributeSerializer(PortalModelSerializer):
    """A declared attribute, with the URN of the schema it belongs to."""

    schema = serializers.SerializerMethodField()
    resourceType = serializers.ChoiceField(source="resource_type", choices=RESOURCE_TYPES)
    multiValued = serializers.BooleanField(source="multi_valued")
    caseExact = serializers.BooleanField(source="case_exact")

    class Meta:
        model = CustomAttribute
        fields = [
            "id",
            "schema",
            "resourceType",
            "name",
            "type",
            "multiValued",
            "caseExact",
            "created",
        ]

    def get_schema(self, attribute: CustomAttribute) -> str:
        return organization_urn(attribute.organization, attribute.resource_type)


class CustomAttributeInputSerializer(serializers.Serializer):
    """The body of a declaration: a name, a type, multiValued, caseExact and the resource type."""

    resourceType = serializers.ChoiceField(choices=RESOURCE_TYPES, default="User")
    name = serializers.CharField(max_length=64)
    type = serializers.ChoiceField(choices=ATTRIBUTE_TYPES, default="string")
    multiValued = serializers.BooleanField(default=False)
    caseExact = serializers.BooleanField(default=False)


class CustomAttributeListView(PortalView, generics.ListAPIView):
    """GET: the organization's custom attributes; POST: declare one."""

    serializer_class = CustomAttributeSerializer

    def get_queryset(self) -> QuerySet[CustomAttribute]:
        return CustomAttribute.objects.for_tenant(self.organization).select_related("organization")

    def post(self, request: Request) -> Response:
        body = CustomAttributeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        attribute = services.declare_custom_attribute(
            self.organization,
            portal_actor(request),
            name=data["name"],
            type=data["type"],
            multi_valued=data["multiValued"],
            case_exact=data["caseExact"],
            resource_type=data["resourceType"],
        )
        return Response(CustomAttributeSerializer(attribute).data, status=status.HTTP_201_CREATED)


class CustomAttributeDetailView(PortalView):
    """DELETE custom-attributes/{id}: the definition goes, and its values are no longer returned."""

    serializer_class = CustomAttributeSerializer

    def delete(self, request: Request, attribute_id: str) -> Response:
        valid = attribute_id.isascii() and attribute_id.isdigit() and len(attribute_id) <= 18
        found = (
            CustomAttribute.objects.for_tenant(self.organization)
            .filter(pk=int(attribute_id))
            .first()
            if valid
            else None
        )
        if found is None:  # another organization's id answers as one that never existed
            raise NotFoundError(f'Custom attribute "{attribute_id}" not found.')
        services.delete_custom_attribute(found, portal_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


__all__ = ["CustomAttributeDetailView", "CustomAttributeListView"]
