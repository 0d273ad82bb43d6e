"""The portal API's organization selection, for admins of several organizations.

``GET organizations`` lists the organizations where the signed-in user holds
``sso:configure``, marking the one the session acts for; ``PUT
session-organization`` selects one. Both need only the session login: they
are how a session gets past ``HasSessionOrganization``. A user with
``sso:configure`` on exactly one organization never needs them, since the
adapter selects that one by itself.

Selecting an organization the user may not configure answers 403, and so
does a slug that names no organization, with the same body, so that slugs
cannot be probed. The selection goes through the adapter and is audited in
the selected organization.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..models import Organization
from ..permissions import (
    CONFIGURE_SSO,
    CanConfigureSso,
    configurable_organizations,
    session_organization,
)
from .policy import PortalView, portal_actor

__all__ = ["OrganizationListView", "SessionOrganizationView"]


class OrganizationSerializer(serializers.ModelSerializer):
    """An organization the user may configure, and whether the session acts for it."""

    selected = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["slug", "name", "selected"]

    def get_selected(self, organization: Organization) -> bool:
        return bool(organization.pk == self.context.get("selected_id"))


class OrganizationChoiceSerializer(serializers.Serializer):
    """The body of a selection: ``{"organization": "<slug>"}``."""

    organization = serializers.CharField(max_length=100)


class SessionView(PortalView):
    """A portal endpoint that a signed-in user reaches before any organization is selected."""

    permission_classes = [IsAuthenticated]


class OrganizationListView(SessionView, generics.ListAPIView):
    """GET organizations: where the user holds ``sso:configure``, the selected one marked."""

    serializer_class = OrganizationSerializer

    def get_queryset(self) -> QuerySet[Organization]:
        return configurable_organizations(self.request.user).order_by("slug", "id")

    def get_serializer_context(self) -> dict[str, Any]:
        selected = session_organization(self.request)
        return {**super().get_serializer_context(), "selected_id": selected and selected.pk}


class SessionOrganizationView(SessionView):
    """PUT session-organization: act for the organization named by its slug from now on."""

    serializer_class = OrganizationChoiceSerializer

    def put(self, request: Request) -> Response:
        body = OrganizationChoiceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization = Organization.objects.filter(slug=body.validated_data["organization"]).first()
        # The gate's own rule, and one answer for "not yours" and "no such slug".
        if organization is None or not request.user.has_perm(CONFIGURE_SSO, organization):
            raise PermissionDenied(CanConfigureSso.message)
        services.select_organization(organization, portal_actor(request), request)
        context = {"selected_id": organization.pk}
        return Response(OrganizationSerializer(organization, context=context).data)
