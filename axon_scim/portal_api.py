"""The portal API under ``/api/v1/scim/``: roles, group-to-role mappings, tokens, audit log.

Thin DRF views for the organization's admins: each authenticates the
portal's session (never a SCIM bearer token), passes the gate of
``permissions`` and works on the organization of the session only. Reads
start from ``PortalView.organization``; writes go through ``services``, which
audit them. Service errors (``ScimError``) answer ``{"detail": ...}`` with
their status, from ``portal_exception_handler``.

``PortalView`` sets the whole DRF policy of the API (authentication,
permissions, throttles, versioning, content negotiation, parsers, renderers,
pagination, filter backends, metadata, exception handler, JSON and date
formats), so a host project's ``REST_FRAMEWORK`` defaults change nothing here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import RequestDataTooBig
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.utils.timezone import now
from rest_framework import ISO_8601, generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError, Throttled
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

from . import services
from .access_review import review_rows, rows_as_dicts, write_csv
from .audit import request_actor
from .models import AuditEvent, Organization, Role, ScimGroup, ScimToken
from .permissions import CanConfigureSso, HasSessionOrganization, session_organization
from .protocol.errors import NotFoundError, ScimError
from .protocol.text import find_bad_text
from .throttling import PortalUserRateThrottle

# The largest id a BigAutoField holds.
MAX_ID = 2**63 - 1

# The longest lifetime ``expires_in_days`` may ask for: ten years.
MAX_TOKEN_DAYS = 3650


logger = logging.getLogger(__name__)


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


class PortalContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with ``?format=`` on whatever the host's ``URL_FORMAT_OVERRIDE``."""

    # DRF's defaults but for this one key; the stubs type ``settings`` as the global object.
    settings = APISettings(user_settings={"URL_FORMAT_OVERRIDE": "format"})  # type: ignore[assignment]


class PortalPagination(LimitOffsetPagination):
    """``?limit=&offset=`` pages: ``{"count", "next", "previous", "results"}``."""

    default_limit = 50
    max_limit = 500


# --- Serializers -----------------------------------------------------------------


class IsoDateTimeField(serializers.DateTimeField):
    """ISO 8601 out and in, whatever the host's DATETIME_FORMAT and DATETIME_INPUT_FORMATS."""

    format = ISO_8601
    input_formats = [ISO_8601]


class PortalModelSerializer(serializers.ModelSerializer):
    """A model serializer whose date-times are ``IsoDateTimeField``."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: IsoDateTimeField,
    }


class RoleSerializer(PortalModelSerializer):
    """A role with the codenames of its permissions on the organization."""

    permissions = serializers.SerializerMethodField()

    class Meta:
        model = Role
        fields = ["id", "name", "description", "permissions"]

    def get_permissions(self, role: Role) -> list[str]:
        # Sorted in Python: the prefetched rows are used as they are.
        return sorted(permission.codename for permission in role.permissions.all())


class RoleRefSerializer(PortalModelSerializer):
    """The role a group maps to, by id and name."""

    class Meta:
        model = Role
        fields = ["id", "name"]


class GroupRoleMappingSerializer(PortalModelSerializer):
    """One SCIM group, the role it grants (or null) and its number of direct members."""

    role = RoleRefSerializer(read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ScimGroup
        fields = ["id", "display_name", "role", "member_count"]


class RoleMappingInputSerializer(serializers.Serializer):
    """The body of a mapping change: ``{"role_id": <id>}`` or ``{"role_id": null}``."""

    # Bounded by the id column (a bigint), so no value can overflow the database.
    role_id = serializers.IntegerField(allow_null=True, min_value=1, max_value=MAX_ID)


class TokenSerializer(PortalModelSerializer):
    """A token as listed: never its secret nor the secret's hash."""

    created_by = serializers.SerializerMethodField()

    class Meta:
        model = ScimToken
        fields = [
            "id",
            "label",
            "prefix",
            "created",
            "created_by",
            "last_used",
            "expires",
            "revoked",
        ]

    def get_created_by(self, token: ScimToken) -> str | None:
        return token.created_by.get_username() if token.created_by is not None else None


class TokenCreateSerializer(serializers.Serializer):
    """The body of a token creation: a label and, optionally, when it expires."""

    # The stubs type Field.label as a str; at run time DRF collects declared fields off the class.
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=200, allow_blank=True, required=False, default=""
    )
    expires = IsoDateTimeField(required=False, allow_null=True, default=None)
    expires_in_days = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_TOKEN_DAYS
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        days = attrs.pop("expires_in_days")
        if days is not None:
            if attrs["expires"] is not None:
                raise serializers.ValidationError("Give expires or expires_in_days, not both.")
            attrs["expires"] = now() + timedelta(days=days)
        elif attrs["expires"] is not None and attrs["expires"] <= now():
            raise serializers.ValidationError({"expires": ["The expiry must be in the future."]})
        return attrs


class AuditEventSerializer(PortalModelSerializer):
    """One audit event; ``before`` and ``after`` were masked when it was written."""

    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "time",
            "action",
            "resource_type",
            "resource_id",
            "actor",
            "before",
            "after",
            "request_id",
            "ip",
            "user_agent",
            "sequence",
            "hash",
        ]

    def get_actor(self, event: AuditEvent) -> dict[str, str]:
        return {"type": event.actor_type, "label": event.actor_label}


class AuditEventFilterSerializer(serializers.Serializer):
    """The query parameters of the audit log; blank ones filter nothing."""

    action = serializers.CharField(required=False, allow_blank=True)
    resource_type = serializers.CharField(required=False, allow_blank=True)
    resource_id = serializers.CharField(required=False, allow_blank=True)
    actor = serializers.CharField(required=False, allow_blank=True)
    since = IsoDateTimeField(required=False)
    until = IsoDateTimeField(required=False)


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


# --- Views -------------------------------------------------------------------------


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

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return portal_exception_handler

    @property
    def organization(self) -> Organization:
        """The session's organization; the gate has made sure there is one."""
        organization = session_organization(self.request)
        if organization is None:  # unreachable past the gate; never fall back to anything
            raise NotFoundError()
        return organization


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
    return (
        groups.select_related("role")
        .annotate(member_count=Count("memberships"))
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
