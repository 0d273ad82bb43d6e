"""The Users and Groups endpoints (RFC 7644 sections 3.3 to 3.6).

Tenant scoping happens in ``UserResourceView.get_queryset()`` and
``GroupResourceView.get_queryset()``, the only places SCIM reads start from;
writes go through ``services``, which scope their lookups the same way.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar, cast
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..extension_models import ScimExtensionValue
from ..extension_values import load_extension_rows
from ..extensions import custom_schemas, resource_type
from ..member_stream import (
    MemberChunks,
    StreamedDocument,
    can_stream,
    first_chunk,
    group_connection,
)
from ..models import ScimGroup, ScimUser, ScimUserQuerySet
from ..protocol import errors
from ..protocol.cursors import CursorState, query_fingerprint
from ..protocol.etag import if_none_match_hits, make_etag
from ..protocol.listing import ListQuery, cursor_list_response, list_response
from ..protocol.projection import parse_attribute_list, project, wants
from ..protocol.schemas import GROUP_RESOURCE, USER_RESOURCE, ResourceType
from ..querying import compile_filter, keyset_for, order_by_for
from ..reads import group_by_id
from ..rendering import MULTI_VALUED, GroupRenderer, UserContext, UserRenderer
from .base import ScimView
from .bodies import group_document, patch_operations, user_document
from .cursors import keyset_page, position_of, read_cursor, sign_cursor

__all__ = [
    "GroupDetailView",
    "GroupListView",
    "GroupResourceView",
    "ResourceView",
    "UserDetailView",
    "UserListView",
    "UserResourceView",
]

# Far past any real result, yet inside every database's integer range.
MAX_OFFSET = 2**53

ResourceT = TypeVar("ResourceT", bound=ScimUser | ScimGroup)


class ResourceView(ScimView, Generic[ResourceT]):
    """What Users and Groups share: the scoped queryset, pages, and one resource's response.

    A subclass names its ``base_resource`` type and supplies ``get_queryset``,
    ``render_page`` and ``object_response``; ``resource`` is that type as the
    token's organization has it, with its custom attributes.
    """

    base_resource: ClassVar[ResourceType]

    @cached_property
    def resource(self) -> ResourceType:
        """The resource type of the token's organization (with its extension schemas)."""
        return resource_type(self.base_resource, self.organization)

    def document(self) -> tuple[dict[str, Any], list[str]]:
        """The request's resource (POST, PUT), normalized, and the attribute names it ignored."""
        ignored: list[str] = []
        return user_document(self.body(), self.resource, ignored), ignored

    def get_queryset(self) -> QuerySet[ResourceT]:
        """The resources of the token's organization; every SCIM read starts here."""
        raise NotImplementedError

    def render_page(self, rows: list[ResourceT], query: ListQuery) -> list[dict[str, Any]]:
        """The SCIM documents of one page of rows, projected as ``query`` asks."""
        raise NotImplementedError

    def object_response(
        self, obj: ResourceT, *, status: int = 200, location: bool = False
    ) -> HttpResponseBase:
        """One resource as the request's projection asks, with its ETag (and Location)."""
        raise NotImplementedError

    def get_object(self, pk: str) -> ResourceT:
        """The resource of this organization with id ``pk``, else 404 (as for any unknown id)."""
        uuid_pk = services.parse_id(pk)
        found = self.fetched(self.get_queryset().filter(pk=uuid_pk)).first() if uuid_pk else None
        if found is None:
            raise errors.NotFoundError(f'{self.resource.name} "{pk}" not found.')
        return found

    def fetched(self, rows: QuerySet[ResourceT]) -> QuerySet[ResourceT]:
        """``rows`` with what rendering them reads besides their own columns; applied where
        rows are fetched, never where they are counted."""
        return rows

    def search(
        self, query: ListQuery, *, unknown_is_unassigned: bool = False, total: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of resources and the total, in a fixed number of queries.

        A caller that has counted the matches already passes ``total``, so the
        filter does not run again to count them.
        """
        rows = self.matching(query, unknown_is_unassigned=unknown_is_unassigned)
        ordering = order_by_for(query.sort_by, query.sort_order, self.resource)
        rows = rows.order_by(*ordering)
        offset = min(query.start_index - 1, MAX_OFFSET)
        if query.count == 0:
            return [], rows.count()
        if offset:
            # Deep pages: the OFFSET walks the index for ids alone, and only the
            # page's rows are then joined (to their manager), still in one query.
            page_ids = rows.values("pk")[offset : offset + query.count]
            page = list(
                self.fetched(self.get_queryset().filter(pk__in=page_ids)).order_by(*ordering)
            )
        else:
            page = list(self.fetched(rows)[: query.count])
        # A short page that is not past the end tells the total without a count.
        if len(page) < query.count and (page or offset == 0):
            total = offset + len(page)
        elif total is None:
            total = rows.count()
        return self.render_page(page, query), total

    def matching(
        self, query: ListQuery, *, unknown_is_unassigned: bool = False
    ) -> QuerySet[ResourceT]:
        """The organization's resources that the query's filter selects, in no order."""
        rows = self.get_queryset()
        if query.filter:
            condition = compile_filter(
                self.parse_filter(query.filter, self.resource),
                self.resource,
                # Under ``or``, multi-valued terms become uncorrelated subqueries of this
                # organization's rows (see querying): far cheaper than a correlated EXISTS.
                organization=self.organization,
                unknown_is_unassigned=unknown_is_unassigned,
            )
            rows = rows.filter(condition)
        return rows

    def list_response(self, query: ListQuery) -> Response:
        if query.cursor is not None:
            return Response(self.cursor_page(query))
        docs, total = self.search(query)
        return Response(list_response(docs, total, query.start_index))

    def cursor_page(self, query: ListQuery) -> dict[str, Any]:
        """One cursor page (RFC 9865) as a ListResponse body, in a fixed number of queries.

        The page, plus a count on the first page only (see ``protocol.cursors``),
        plus what rendering the page's rows needs. ``count=0`` answers the
        total alone, and a cursor that continues from where this one was.
        """
        fingerprint = query_fingerprint(self.organization.pk, self.resource.name, query)
        state = read_cursor(query.cursor, fingerprint) if query.cursor else None
        position = state.position if state else None
        rows = self.matching(query)
        keyset = keyset_for(query.sort_by, query.sort_order, self.resource)
        page, more = keyset_page(self.fetched(rows), keyset, position, query.count)
        if query.count == 0:
            resume = CursorState(fingerprint, position)
            return cursor_list_response([], rows.count(), sign_cursor(resume) if more else None)
        total = None
        if position is None:
            total = rows.count() if more else len(page)
        following = CursorState(fingerprint, position_of(page[-1])) if more else None
        return cursor_list_response(
            self.render_page(page, query), total, sign_cursor(following) if following else None
        )

    def projection(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``attributes`` and ``excludedAttributes`` of a single-resource request."""
        params = self.request.query_params
        return (
            parse_attribute_list(params.get("attributes"), self.resource),
            parse_attribute_list(params.get("excludedAttributes"), self.resource),
        )

    def document_response(
        self,
        doc: dict[str, Any],
        version: int,
        *,
        status: int = 200,
        location: str | None = None,
    ) -> Response:
        """``doc`` projected as the request asks, with its ETag (and Location)."""
        attributes, excluded = self.projection()
        response = Response(project(doc, self.resource, attributes, excluded), status=status)
        response["ETag"] = make_etag(version)
        if location:
            response["Location"] = location
        return response

    def not_modified(self, version: int) -> Response | None:
        """A 304 when ``If-None-Match`` names the current version, else None."""
        if if_none_match_hits(self.request.META.get("HTTP_IF_NONE_MATCH"), make_etag(version)):
            response = Response(status=304)
            response["ETag"] = make_etag(version)
            return response
        return None

    @property
    def if_match(self) -> str | None:
        return self.request.META.get("HTTP_IF_MATCH")


class UserResourceView(ResourceView[ScimUser]):
    """Reads and renders SCIM users of the token's organization."""

    base_resource = USER_RESOURCE

    def get_queryset(self) -> QuerySet[ScimUser]:
        """Users of the token's organization: the one place SCIM user reads are scoped."""
        return ScimUser.objects.for_tenant(self.organization)

    def fetched(self, rows: QuerySet[ScimUser]) -> QuerySet[ScimUser]:
        # The manager's displayName alone, joined on id and organization: a whole second
        # user row per user (select_related) costs more to build than the query to run.
        return cast(ScimUserQuerySet, rows).with_manager_name()

    def render_page(self, rows: list[ScimUser], query: ListQuery) -> list[dict[str, Any]]:
        attributes, excluded = query.attributes, query.excluded_attributes
        resource = self.resource
        context = UserContext.read(
            rows,
            values=any(wants(name, attributes, excluded, resource) for name in MULTI_VALUED),
            groups=wants("groups", attributes, excluded, resource),
            resource=resource,
        )
        renderer = UserRenderer(self.base_url())
        return [
            project(renderer.render(user, context), resource, attributes, excluded) for user in rows
        ]

    def object_response(
        self, obj: ScimUser, *, status: int = 200, location: bool = False
    ) -> Response:
        renderer = UserRenderer(self.base_url())
        # After a write the service has kept the rows it wrote: no need to read them back.
        context = getattr(obj, "scim_context", None) or UserContext.read(
            [obj], resource=self.resource
        )
        return self.document_response(
            renderer.render(obj, context),
            obj.version,
            status=status,
            location=renderer.location(obj.pk) if location else None,
        )


class GroupResourceView(ResourceView[ScimGroup]):
    """Reads and renders SCIM groups of the token's organization."""

    base_resource = GROUP_RESOURCE

    def get_queryset(self) -> QuerySet[ScimGroup]:
        """Groups of the token's organization: the one place SCIM group reads are scoped."""
        return ScimGroup.objects.for_tenant(self.organization)

    def get_object(self, pk: str) -> ScimGroup:
        """The group of this organization with id ``pk``, else 404; read as ``get_queryset``
        scopes it, by SQL written once (``reads``)."""
        uuid_pk = services.parse_id(pk)
        found = group_by_id(self.organization.pk, uuid_pk) if uuid_pk else None
        if found is None:
            raise errors.NotFoundError(f'{self.resource.name} "{pk}" not found.')
        return found

    def document(self) -> tuple[dict[str, Any], list[str]]:
        """The request's Group (POST, PUT), read as ``bodies.group_document`` reads it."""
        ignored: list[str] = []
        return group_document(self.body(), self.resource, ignored), ignored

    def custom_rows(self, groups: list[ScimGroup]) -> dict[Any, list[ScimExtensionValue]]:
        """The custom attribute rows of ``groups`` (one query), when the type has any."""
        if not custom_schemas(self.resource):
            return {}
        kept = getattr(groups[0], "scim_extensions", None) if len(groups) == 1 else None
        if kept is not None:  # the service that wrote the group kept its rows
            return {groups[0].pk: kept}
        return load_extension_rows(self.organization.pk, "group_id", [group.pk for group in groups])

    def render_group(
        self, renderer: GroupRenderer, group: ScimGroup, members: Any, custom: dict[Any, Any]
    ) -> dict[str, Any]:
        return renderer.render(group, members, self.resource, custom.get(group.pk, ()))

    def render_page(self, rows: list[ScimGroup], query: ListQuery) -> list[dict[str, Any]]:
        attributes, excluded = query.attributes, query.excluded_attributes
        renderer, resource = GroupRenderer(self.base_url(), self.organization.pk), self.resource
        members = (
            renderer.members_of([group.pk for group in rows])
            if wants("members", attributes, excluded, resource)
            else {}
        )
        custom = self.custom_rows(rows)
        return [
            project(
                self.render_group(renderer, group, members.get(group.pk), custom),
                resource,
                attributes,
                excluded,
            )
            for group in rows
        ]

    def object_response(
        self, obj: ScimGroup, *, status: int = 200, location: bool = False
    ) -> HttpResponseBase:
        renderer = GroupRenderer(self.base_url(), self.organization.pk)
        attributes, excluded = self.projection()
        where = renderer.location(obj.pk) if location else None
        custom = self.custom_rows([obj])
        if not wants("members", attributes, excluded, self.resource):
            doc = self.render_group(renderer, obj, None, custom)
        elif attributes or any(name.startswith("members.") for name in excluded):
            # Members cut down by sub-attribute: the general path.
            doc = self.render_group(renderer, obj, renderer.members_of([obj.pk])[obj.pk], custom)
        else:
            return self._whole_members_response(
                obj, renderer, custom, status=status, location=where
            )
        return self.document_response(doc, obj.version, status=status, location=where)

    def _whole_members_response(
        self,
        group: ScimGroup,
        renderer: GroupRenderer,
        custom: dict[Any, Any],
        *,
        status: int,
        location: str | None,
    ) -> HttpResponseBase:
        # Whole members, possibly a million of them: written by PostgreSQL as JSON
        # text, never built as one dict per member, and streamed past one chunk.
        if not can_stream():
            members: str | None = renderer.members_json(group.pk)
        else:
            members = first_chunk(group.pk, group.organization_id, renderer.member_bases())
            if members is None:
                return self._streamed_members_response(group.pk, renderer, status, location)
        head, tail = self._around_members(group, renderer, custom)
        response = HttpResponse(
            f'{head}"members":{members}{tail}'.encode(),
            status=status,
            content_type=self.request.accepted_renderer.media_type,
        )
        return self._with_headers(response, group.version, location)

    def _streamed_members_response(
        self, pk: UUID, renderer: GroupRenderer, status: int, location: str | None
    ) -> StreamingHttpResponse:
        """The group, its custom values and its members from one snapshot, the members
        sent chunk by chunk.

        Everything that can fail runs before the response exists (see ``member_stream``).
        """
        connection = group_connection()
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            group = self.get_object(str(pk))
            custom = self.custom_rows([group])
            chunks = MemberChunks(group.pk, group.organization_id, renderer.member_bases())
        try:
            head, tail = self._around_members(group, renderer, custom)
            response = StreamingHttpResponse(
                StreamedDocument(head, chunks, tail),
                status=status,
                content_type=self.request.accepted_renderer.media_type,
            )
        except BaseException:
            chunks.close()
            raise
        self._with_headers(response, group.version, location)
        return response

    def _around_members(
        self, group: ScimGroup, renderer: GroupRenderer, custom: dict[Any, Any]
    ) -> tuple[str, str]:
        """The group's JSON document before and after its ``members`` array.

        Custom values come after ``members`` and an empty list is never one, so the
        split finds the members.
        """
        attributes, excluded = self.projection()
        doc = project(
            self.render_group(renderer, group, [], custom), self.resource, attributes, excluded
        )
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        head, tail = text.split('"members":[]', 1)
        return head, tail

    @staticmethod
    def _with_headers(
        response: HttpResponseBase, version: int, location: str | None
    ) -> HttpResponseBase:
        # The ETag is the version's, never the body's: a streamed body is not known in advance.
        response["ETag"] = make_etag(version)
        if location:
            response["Location"] = location
        return response


class UserListView(UserResourceView):
    """GET, POST /Users."""

    def get(self, request: Request) -> Response:
        return self.list_response(self.list_query(self.resource))

    def post(self, request: Request) -> Response:
        doc, ignored = self.document()
        user = services.create_user(self.organization, self.actor(), doc, ignored=ignored)
        return self.object_response(user, status=201, location=True)


class UserDetailView(UserResourceView):
    """GET, PUT, PATCH, DELETE /Users/{id}."""

    def get(self, request: Request, pk: str) -> Response:
        user = self.get_object(pk)
        return self.not_modified(user.version) or self.object_response(user)

    def put(self, request: Request, pk: str) -> Response:
        doc, ignored = self.document()
        user = services.replace_user(
            self.organization, self.actor(), pk, doc, if_match=self.if_match, ignored=ignored
        )
        return self.object_response(user)

    def patch(self, request: Request, pk: str) -> Response:
        ignored: list[str] = []
        operations = patch_operations(self.body(), self.resource, ignored)
        user = services.patch_user(
            self.organization, self.actor(), pk, operations, if_match=self.if_match, ignored=ignored
        )
        return self.object_response(user)

    def delete(self, request: Request, pk: str) -> Response:
        services.delete_user(self.organization, self.actor(), pk, if_match=self.if_match)
        return Response(status=204)


class GroupListView(GroupResourceView):
    """GET, POST /Groups."""

    def get(self, request: Request) -> Response:
        return self.list_response(self.list_query(self.resource))

    def post(self, request: Request) -> HttpResponseBase:
        doc, ignored = self.document()
        group = services.create_group(self.organization, self.actor(), doc, ignored=ignored)
        return self.object_response(group, status=201, location=True)


class GroupDetailView(GroupResourceView):
    """GET, PUT, PATCH, DELETE /Groups/{id}."""

    def get(self, request: Request, pk: str) -> HttpResponseBase:
        group = self.get_object(pk)
        return self.not_modified(group.version) or self.object_response(group)

    def put(self, request: Request, pk: str) -> HttpResponseBase:
        doc, ignored = self.document()
        group = services.replace_group(
            self.organization, self.actor(), pk, doc, if_match=self.if_match, ignored=ignored
        )
        return self.object_response(group)

    def patch(self, request: Request, pk: str) -> HttpResponseBase:
        ignored: list[str] = []
        operations = patch_operations(self.body(), self.resource, ignored)
        group = services.patch_group(
            self.organization, self.actor(), pk, operations, if_match=self.if_match, ignored=ignored
        )
        return self.object_response(group)

    def delete(self, request: Request, pk: str) -> Response:
        services.delete_group(self.organization, self.actor(), pk, if_match=self.if_match)
        return Response(status=204)
