"""The endpoints of the portal API: roles, group-to-role mappings, tokens, audit log, review.

Reads start from ``PortalView.organization``; writes go through ``services``,
which audit them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, FilteredRelation, Q, QuerySet
from django.http import HttpResponse, HttpResponseBase
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..access_review import review_rows, rows_as_dicts, write_csv
from ..models import AuditEvent, Organization, Role, ScimGroup, ScimToken
from ..protocol.errors import NotFoundError
from .policy import CsvRenderer, PortalJSONRenderer, PortalView, portal_actor
from .serializers import (
    AuditEventFilterSerializer,
    AuditEventSerializer,
    GroupRoleMappingSerializer,
    RoleMappingInputSerializer,
    RoleSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)

__all__ = [
    "AccessReviewView",
    "AuditEventListView",
    "GroupRoleMappingListView",
    "GroupRoleMappingView",
    "RoleListView",
    "TokenDetailView",
    "TokenListView",
    "filter_events",
    "role_mappings",
]


def filter_events(events: QuerySet[AuditEvent], params: dict[str, Any]) -> QuerySet[AuditEvent]:
    """Events matching validated filters: exact fields, ``since <= time < until``.

    ``actor`` matches the event's actor label, the username of its portal
    user or the prefix of its token, exactly.
    """
    for name in ("action", "resource_type", "resource_id"):
        if params.get(name):
            events = events.filter(**{name: params[name]})
    if params.get("actor"):
        username = f"actor_user__{get_user_model().USERNAME_FIELD}"
        actor = params["actor"]
        events = events.filter(
            Q(actor_label=actor) | Q(**{username: actor}) | Q(actor_token__prefix=actor)
        )
    if "since" in params:
        events = events.filter(time__gte=params["since"])
    if "until" in params:
        events = events.filter(time__lt=params["until"])
    return events


class RoleListView(PortalView, generics.ListAPIView):
    """GET roles: the organization's roles that a mapping may assign, by name."""

    serializer_class = RoleSerializer

    def get_queryset(self) -> QuerySet[Role]:
        return (
            Role.objects.for_tenant(self.organization)
            .prefetch_related("permissions")
            .order_by("name", "id")
        )


def role_mappings(organization: Organization) -> QuerySet[ScimGroup]:
    """Every group of the organization with its role and member count, in one query."""
    groups: QuerySet[ScimGroup] = ScimGroup.objects.for_tenant(organization)
    # The memberships joined on the organization too: the query stays on its shard.
    same = Q(memberships__organization_id=F("organization_id"))
    return (
        groups.select_related("role")
        .annotate(own_memberships=FilteredRelation("memberships", condition=same))
        .annotate(member_count=Count("own_memberships"))
        .order_by("display_name_lower", "id")
    )


class GroupRoleMappingListView(PortalView, generics.ListAPIView):
    """GET groups/role-mappings: every SCIM group, mapped or not, by display name."""

    serializer_class = GroupRoleMappingSerializer

    def get_queryset(self) -> QuerySet[ScimGroup]:
        return role_mappings(self.organization)


class GroupRoleMappingView(PortalView):
    """PUT groups/{id}/role-mapping: map the group to a role, or clear it with null."""

    serializer_class = RoleMappingInputSerializer

    def put(self, request: Request, group_id: str) -> Response:
        body = RoleMappingInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        group = services.set_group_role(
            self.organization, portal_actor(request), group_id, body.validated_data["role_id"]
        )
        mapping = role_mappings(self.organization).get(pk=group.pk)
        return Response(GroupRoleMappingSerializer(mapping).data)


class TokenListView(PortalView, generics.ListAPIView):
    """GET tokens: the organization's tokens, newest first; POST: issue one."""

    serializer_class = TokenSerializer

    def get_queryset(self) -> QuerySet[ScimToken]:
        return (
            ScimToken.objects.for_tenant(self.organization)
            .select_related("created_by")
            .order_by("-created", "-id")
        )

    def post(self, request: Request) -> Response:
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, secret = services.issue_token(
            self.organization,
            portal_actor(request),
            label=body.validated_data["label"],
            expires=body.validated_data["expires"],
        )
        data = dict(TokenSerializer(token).data)
        data["token"] = secret
        # The secret is in this body and nowhere else: keep it out of every cache.
        return Response(data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class TokenDetailView(PortalView):
    """DELETE tokens/{id}: revoke the token; it fails from the next request on."""

    serializer_class = TokenSerializer

    def delete(self, request: Request, token_id: str) -> Response:
        # Ids are positive bigints; anything else is no token (not a database error).
        valid = token_id.isascii() and token_id.isdigit() and len(token_id) <= 18
        token = (
            ScimToken.objects.for_tenant(self.organization).filter(pk=int(token_id)).first()
            if valid
            else None
        )
        if token is None:
            raise NotFoundError(f'Token "{token_id}" not found.')
        services.revoke_token(token, portal_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditEventListView(PortalView, generics.ListAPIView):
    """GET audit-events: the organization's audit log, newest first, filtered and paged."""

    serializer_class = AuditEventSerializer

    def get_queryset(self) -> QuerySet[AuditEvent]:
        params = AuditEventFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        events = AuditEvent.objects.for_tenant(self.organization).order_by("-time", "-id")
        return filter_events(events, params.validated_data)


class AccessReviewView(PortalView):
    """GET access-review: every user, each role, the groups granting it and since when.

    JSON by default; ``?format=csv`` gives the same rows as a CSV download.
    """

    renderer_classes = [PortalJSONRenderer, CsvRenderer]

    def get(self, request: Request) -> HttpResponseBase:
        organization = self.organization
        rows = review_rows(organization)
        if request.accepted_renderer.format == "csv":
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = (
                f'attachment; filename="access-review-{organization.slug}.csv"'
            )
            write_csv(rows, response)
            return response
        return Response(
            {
                "organization": organization.slug,
                "count": len(rows),
                "results": rows_as_dicts(rows),
            }
        )
