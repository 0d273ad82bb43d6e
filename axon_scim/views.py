"""Thin DRF views for ``/scim/v2``: authenticate, parse, call a service, render.

Tenant scoping happens in ``UserViewMixin.queryset()`` and
``GroupViewMixin.queryset()``, the only places SCIM reads start from; writes
go through ``services``, which scope their lookups the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.urls import reverse
from rest_framework import exceptions as drf
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .audit import request_actor
from .authentication import ScimPrincipal, ScimTokenAuthentication
from .conf import scim_settings
from .models import Organization, ScimGroup, ScimToken, ScimUser
from .protocol import constants as c
from .protocol import errors
from .protocol.documents import normalize_document
from .protocol.errors import UnknownAttributeError
from .protocol.etag import if_none_match_hits, make_etag
from .protocol.filter import parse_filter
from .protocol.listing import ListQuery, list_response
from .protocol.media import is_supported_content_type
from .protocol.patch import parse_patch_request
from .protocol.projection import parse_attribute_list, project, wants
from .protocol.schemas import GROUP_RESOURCE, RESOURCE_TYPES, SCHEMAS, USER_RESOURCE, ResourceType
from .querying import compile_filter, order_by_for
from .rendering import MULTI_VALUED, GroupRenderer, UserContext, UserRenderer

logger = logging.getLogger(__name__)

MAX_OFFSET = 2**53


# --- Wire format ----------------------------------------------------------------


class ScimRenderer(JSONRenderer):
    """Renders ``application/scim+json`` (RFC 7644 section 8.1)."""

    media_type = c.MEDIA_TYPE
    format = "scim"
    charset = None


class PlainJsonRenderer(JSONRenderer):
    """Renders ``application/json`` for clients that ask for it by name."""

    charset = None


class ScimParser(BaseParser):
    """Parses JSON bodies sent as ``application/scim+json`` or ``application/json``.

    The body is read with a limit, so a client cannot make the server buffer
    more than ``MAX_REQUEST_BYTES`` even without a Content-Length.
    """

    media_type = "application/*"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if not is_supported_content_type(media_type):
            raise errors.UnsupportedMediaTypeError()
        limit = scim_settings.MAX_REQUEST_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise errors.PayloadTooLargeError(f"The request body exceeds {limit} bytes.")
        if not raw.strip():
            return None
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except RecursionError:
            raise errors.InvalidSyntaxError("The request body is nested too deeply.") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise errors.InvalidSyntaxError(f"The request body is not valid JSON: {exc}") from None
        # JSON can carry NUL only as the escape \u0000; no attribute may hold it.
        if b"\\u0000" in raw and _has_nul(body):
            raise errors.InvalidValueError("Values must not contain NUL characters.")
        return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def scim_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Turn every exception into an RFC 7644 section 3.12 error body; 500s reveal nothing."""
    error = _as_scim_error(exc)
    if error.status >= 500:
        logger.exception("SCIM request failed", exc_info=exc)
    response = Response(error.to_body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    return response


def _as_scim_error(exc: Exception) -> errors.ScimError:
    if isinstance(exc, errors.ScimError):
        return exc
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return errors.UnauthorizedError()
    if isinstance(exc, drf.PermissionDenied):
        return errors.ForbiddenError()
    if isinstance(exc, drf.MethodNotAllowed):
        return errors.MethodNotAllowedError(str(exc.detail))
    if isinstance(exc, drf.NotAcceptable):
        return errors.NotAcceptableError()
    if isinstance(exc, drf.UnsupportedMediaType):
        return errors.UnsupportedMediaTypeError()
    if isinstance(exc, drf.ParseError):
        return errors.InvalidSyntaxError(str(exc.detail))
    if isinstance(exc, drf.NotFound):
        return errors.NotFoundError()
    return errors.InternalError()


class HasScimToken(BasePermission):
    """The request carries a valid bearer token of an organization."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ScimPrincipal)


# --- Base views -------------------------------------------------------------------


class ScimView(APIView):
    """Base of every SCIM endpoint: wire format, errors, tenant, actor."""

    authentication_classes = [ScimTokenAuthentication]
    permission_classes = [HasScimToken]
    renderer_classes = [ScimRenderer, PlainJsonRenderer]
    parser_classes = [ScimParser]

    def get_exception_handler(self) -> Callable[..., Response]:
        return scim_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # 413 before anything reads the body (RFC 7644 section 3.12).
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > scim_settings.MAX_REQUEST_BYTES:
            raise errors.PayloadTooLargeError(
                f"The request body exceeds {scim_settings.MAX_REQUEST_BYTES} bytes."
            )
        super().initial(request, *args, **kwargs)

    def http_method_not_allowed(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise errors.MethodNotAllowedError(f'Method "{request.method}" is not allowed here.')

    @property
    def organization(self) -> Organization:
        return cast(ScimPrincipal, self.request.user).organization

    def base_url(self) -> str:
        """The absolute URL of the SCIM root, without a trailing slash."""
        return self.request.build_absolute_uri(reverse("axon_scim:root")).rstrip("/")

    def actor(self) -> services.Actor:
        return request_actor(self.request, token=cast(ScimToken, self.request.auth))

    def body(self) -> Any:
        data = self.request.data
        if data is None or data == {}:
            if not self.request.META.get("CONTENT_TYPE"):
                raise errors.UnsupportedMediaTypeError()
            raise errors.InvalidSyntaxError("The request body is empty.")
        return data

    def list_query(self, resource: ResourceType | None, body: Any = None) -> ListQuery:
        limits = {
            "default_count": scim_settings.DEFAULT_PAGE_SIZE,
            "max_count": scim_settings.MAX_PAGE_SIZE,
        }
        if body is not None:
            return ListQuery.from_search_request(body, resource, **limits)
        return ListQuery.from_query_params(self.request.query_params, resource, **limits)

    def projection(self, resource: ResourceType) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``attributes`` and ``excludedAttributes`` of a single-resource request."""
        params = self.request.query_params
        return (
            parse_attribute_list(params.get("attributes"), resource),
            parse_attribute_list(params.get("excludedAttributes"), resource),
        )

    def resource_response(
        self,
        doc: dict[str, Any],
        resource: ResourceType,
        version: int,
        *,
        status: int = 200,
        location: str | None = None,
    ) -> Response:
        attributes, excluded = self.projection(resource)
        response = Response(project(doc, resource, attributes, excluded), status=status)
        response["ETag"] = make_etag(version)
        if location:
            response["Location"] = location
        return response

    def not_modified(self, version: int) -> Response | None:
        if if_none_match_hits(self.request.META.get("HTTP_IF_NONE_MATCH"), make_etag(version)):
            response = Response(status=304)
            response["ETag"] = make_etag(version)
            return response
        return None

    @property
    def if_match(self) -> str | None:
        return self.request.META.get("HTTP_IF_MATCH")


class DiscoveryView(ScimView):
    """Discovery endpoints need no token (RFC 7644 section 4)."""

    authentication_classes = []
    permission_classes = []


# --- Discovery ----------------------------------------------------------------------


class ServiceProviderConfigView(DiscoveryView):
    """GET /ServiceProviderConfig: what this server really supports (RFC 7643 section 5)."""

    def get(self, request: Request) -> Response:
        base = self.base_url()
        return Response(
            {
                "schemas": [c.SERVICE_PROVIDER_CONFIG_SCHEMA],
                "documentationUri": "https://github.com/axon-scim/axon-scim#readme",
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
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
    def get(self, request: Request) -> Response:
        docs = [schema.to_document(self.base_url()) for schema in SCHEMAS]
        return Response(list_response(docs, len(docs), 1))


class SchemaDetailView(DiscoveryView):
    def get(self, request: Request, schema_id: str) -> Response:
        for schema in SCHEMAS:
            if schema.id == schema_id:
                return Response(schema.to_document(self.base_url()))
        raise errors.NotFoundError(f'Schema "{schema_id}" not found.')


class ResourceTypeListView(DiscoveryView):
    def get(self, request: Request) -> Response:
        docs = [rt.to_document(self.base_url()) for rt in RESOURCE_TYPES]
        return Response(list_response(docs, len(docs), 1))


class ResourceTypeDetailView(DiscoveryView):
    def get(self, request: Request, name: str) -> Response:
        for resource_type in RESOURCE_TYPES:
            if resource_type.name == name:
                return Response(resource_type.to_document(self.base_url()))
        raise errors.NotFoundError(f'ResourceType "{name}" not found.')


class NotFoundView(DiscoveryView):
    """Any other path under the SCIM root: a SCIM 404, never an HTML page."""

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        response = self.handle_exception(errors.NotFoundError("No such SCIM endpoint."))
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response


# --- Resources ------------------------------------------------------------------------


class ResourceView(ScimView):
    """Shared list and search logic of Users and Groups."""

    resource: ClassVar[ResourceType]

    def queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def render_page(self, rows: list[Any], query: ListQuery) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get_object(self, pk: str) -> Any:
        """The resource of this organization with id ``pk``, else 404 (as for any unknown id)."""
        uuid_pk = services.parse_id(pk)
        found = self.queryset().filter(pk=uuid_pk).first() if uuid_pk else None
        if found is None:
            raise errors.NotFoundError(f'{self.resource.name} "{pk}" not found.')
        return found

    def search(
        self, query: ListQuery, *, unknown_is_unassigned: bool = False
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of resources and the total, in a fixed number of queries."""
        rows = self.queryset()
        if query.filter:
            condition = compile_filter(
                parse_filter(query.filter),
                self.resource,
                unknown_is_unassigned=unknown_is_unassigned,
            )
            rows = rows.filter(condition)
        ordering = order_by_for(query.sort_by, query.sort_order, self.resource)
        rows = rows.order_by(*ordering)
        # Far past any real result, yet inside every database's integer range.
        offset = min(query.start_index - 1, MAX_OFFSET)
        if query.count == 0:
            return [], rows.count()
        if offset:
            # Deep pages: the OFFSET walks the index for ids alone, and only the
            # page's rows are then joined (to their manager), still in one query.
            page_ids = rows.values("pk")[offset : offset + query.count]
            page = list(self.queryset().filter(pk__in=page_ids).order_by(*ordering))
        else:
            page = list(rows[: query.count])
        # A short page that is not past the end tells the total without a count.
        if len(page) < query.count and (page or offset == 0):
            total = offset + len(page)
        else:
            total = rows.count()
        return self.render_page(page, query), total

    def list_response(self, query: ListQuery) -> Response:
        docs, total = self.search(query)
        return Response(list_response(docs, total, query.start_index))


class UserViewMixin:
    resource = USER_RESOURCE

    def queryset(self: Any) -> QuerySet[ScimUser]:
        """Users of the token's organization: the one place SCIM user reads are scoped."""
        return ScimUser.objects.for_tenant(self.organization).select_related("manager")

    def render_page(self: Any, rows: list[ScimUser], query: ListQuery) -> list[dict[str, Any]]:
        attributes, excluded = query.attributes, query.excluded_attributes
        context = UserContext.load(
            rows,
            values=any(wants(name, attributes, excluded, USER_RESOURCE) for name in MULTI_VALUED),
            groups=wants("groups", attributes, excluded, USER_RESOURCE),
        )
        serializer = UserRenderer(self.base_url())
        return [
            project(serializer.render(user, context), USER_RESOURCE, attributes, excluded)
            for user in rows
        ]

    def user_response(
        self: Any, user: ScimUser, *, status: int = 200, location: bool = False
    ) -> Response:
        serializer = UserRenderer(self.base_url())
        # After a write the service has kept the rows it wrote: no need to read them back.
        context = getattr(user, "scim_context", None) or UserContext.load([user])
        doc = serializer.render(user, context)
        return self.resource_response(
            doc,
            USER_RESOURCE,
            user.version,
            status=status,
            location=serializer.location(user.pk) if location else None,
        )


class UserListView(UserViewMixin, ResourceView):
    """GET, POST /Users."""

    def get(self, request: Request) -> Response:
        return self.list_response(self.list_query(USER_RESOURCE))

    def post(self, request: Request) -> Response:
        doc = normalize_document(self.body(), USER_RESOURCE, require=True)
        user = services.create_user(self.organization, self.actor(), doc)
        return self.user_response(user, status=201, location=True)


class UserSearchView(UserViewMixin, ResourceView):
    """POST /Users/.search (RFC 7644 section 3.4.3)."""

    def post(self, request: Request) -> Response:
        return self.list_response(self.list_query(USER_RESOURCE, self.body()))


class UserDetailView(UserViewMixin, ResourceView):
    """GET, PUT, PATCH, DELETE /Users/{id}."""

    def get(self, request: Request, pk: str) -> Response:
        user = self.get_object(pk)
        return self.not_modified(user.version) or self.user_response(user)

    def put(self, request: Request, pk: str) -> Response:
        doc = normalize_document(self.body(), USER_RESOURCE, require=True)
        user = services.replace_user(
            self.organization, self.actor(), pk, doc, if_match=self.if_match
        )
        return self.user_response(user)

    def patch(self, request: Request, pk: str) -> Response:
        operations = parse_patch_request(
            self.body(), USER_RESOURCE, max_operations=scim_settings.MAX_PATCH_OPERATIONS
        )
        user = services.patch_user(
            self.organization, self.actor(), pk, operations, if_match=self.if_match
        )
        return self.user_response(user)

    def delete(self, request: Request, pk: str) -> Response:
        services.delete_user(self.organization, self.actor(), pk, if_match=self.if_match)
        return Response(status=204)


class GroupViewMixin:
    resource = GROUP_RESOURCE

    def queryset(self: Any) -> QuerySet[ScimGroup]:
        """Groups of the token's organization: the one place SCIM group reads are scoped."""
        return ScimGroup.objects.for_tenant(self.organization)

    def render_page(self: Any, rows: list[ScimGroup], query: ListQuery) -> list[dict[str, Any]]:
        attributes, excluded = query.attributes, query.excluded_attributes
        serializer = GroupRenderer(self.base_url())
        members = (
            serializer.members_of([group.pk for group in rows])
            if wants("members", attributes, excluded, GROUP_RESOURCE)
            else {}
        )
        return [
            project(
                serializer.render(group, members.get(group.pk)),
                GROUP_RESOURCE,
                attributes,
                excluded,
            )
            for group in rows
        ]

    def group_response(
        self: Any, group: ScimGroup, *, status: int = 200, location: bool = False
    ) -> HttpResponseBase:
        serializer = GroupRenderer(self.base_url())
        attributes, excluded = self.projection(GROUP_RESOURCE)
        where = serializer.location(group.pk) if location else None
        if not wants("members", attributes, excluded, GROUP_RESOURCE):
            doc = serializer.render(group, None)
            return self.resource_response(
                doc, GROUP_RESOURCE, group.version, status=status, location=where
            )
        if attributes or any(name.startswith("members.") for name in excluded):
            # Members cut down by sub-attribute: the general path.
            doc = serializer.render(group, serializer.members_of([group.pk])[group.pk])
            return self.resource_response(
                doc, GROUP_RESOURCE, group.version, status=status, location=where
            )
        # Whole members, possibly 100,000 of them: written straight to JSON
        # text, never built as one dict per member.
        doc = project(serializer.render(group, []), GROUP_RESOURCE, attributes, excluded)
        head, tail = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).split(
            '"members":[]', 1
        )
        body = f'{head}"members":{serializer.members_json(group.pk)}{tail}'
        response = HttpResponse(
            body.encode(), status=status, content_type=self.request.accepted_renderer.media_type
        )
        response["ETag"] = make_etag(group.version)
        if where:
            response["Location"] = where
        return response


class GroupListView(GroupViewMixin, ResourceView):
    """GET, POST /Groups."""

    def get(self, request: Request) -> Response:
        return self.list_response(self.list_query(GROUP_RESOURCE))

    def post(self, request: Request) -> HttpResponseBase:
        doc = normalize_document(self.body(), GROUP_RESOURCE, require=True)
        group = services.create_group(self.organization, self.actor(), doc)
        return self.group_response(group, status=201, location=True)


class GroupSearchView(GroupViewMixin, ResourceView):
    """POST /Groups/.search."""

    def post(self, request: Request) -> Response:
        return self.list_response(self.list_query(GROUP_RESOURCE, self.body()))


class GroupDetailView(GroupViewMixin, ResourceView):
    """GET, PUT, PATCH, DELETE /Groups/{id}."""

    def get(self, request: Request, pk: str) -> HttpResponseBase:
        group = self.get_object(pk)
        return self.not_modified(group.version) or self.group_response(group)

    def put(self, request: Request, pk: str) -> HttpResponseBase:
        doc = normalize_document(self.body(), GROUP_RESOURCE, require=True)
        group = services.replace_group(
            self.organization, self.actor(), pk, doc, if_match=self.if_match
        )
        return self.group_response(group)

    def patch(self, request: Request, pk: str) -> HttpResponseBase:
        operations = parse_patch_request(
            self.body(), GROUP_RESOURCE, max_operations=scim_settings.MAX_PATCH_OPERATIONS
        )
        group = services.patch_group(
            self.organization, self.actor(), pk, operations, if_match=self.if_match
        )
        return self.group_response(group)

    def delete(self, request: Request, pk: str) -> Response:
        services.delete_group(self.organization, self.actor(), pk, if_match=self.if_match)
        return Response(status=204)


class RootSearchView(ScimView):
    """POST /.search: one SearchRequest over Users and then Groups (RFC 7644 section 3.4.3)."""

    def post(self, request: Request) -> Response:
        body = self.body()
        query = self.list_query(None, body)
        views: list[ResourceView] = [UserListView(), GroupListView()]
        lenient = _types_lacking_filter_attributes(query.filter, views)
        offset, remaining, total, docs = query.start_index - 1, query.count, 0, []
        for view in views:
            view.request, view.args, view.kwargs = self.request, (), {}
            typed = self.list_query(view.resource, body)
            options = {"unknown_is_unassigned": view.resource in lenient}
            count = view.search(replace(typed, start_index=1, count=0), **options)[1]
            if remaining and offset < count:
                page_query = replace(typed, start_index=offset + 1, count=remaining)
                page, _ = view.search(page_query, **options)
                docs.extend(page)
                remaining -= len(page)
            offset = max(0, offset - count)
            total += count
        return Response(list_response(docs, total, query.start_index))


def _types_lacking_filter_attributes(
    text: str | None, views: list[ResourceView]
) -> set[ResourceType]:
    """The resource types that lack an attribute the filter names; 400 if every type does.

    Across types, ``userName pr`` is false for a Group rather than an error,
    but a name no type knows is still a mistake worth a 400.
    """
    if not text:
        return set()
    expr = parse_filter(text)
    lacking: dict[ResourceType, UnknownAttributeError] = {}
    for view in views:
        try:
            compile_filter(expr, view.resource)
        except UnknownAttributeError as exc:
            lacking[view.resource] = exc
    if len(lacking) == len(views):
        raise next(iter(lacking.values()))
    return set(lacking)
