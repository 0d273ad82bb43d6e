"""Searches by POST (RFC 7644 section 3.4.3): ``/Users/.search``, ``/Groups/.search``, ``/.search``.

A SearchRequest body carries what a GET's query string would; the root
search runs one over Users and then Groups as a single list. The root search
pages by ``startIndex`` only: a ``cursor`` there is a 400 ``invalidValue``
(a full sync walks each resource type by cursor, on its own endpoint).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from ..protocol.errors import InvalidValueError, UnknownAttributeError
from ..protocol.filter import parse_filter
from ..protocol.listing import list_response
from ..protocol.schemas import ResourceType
from ..querying import compile_filter
from .base import ScimView
from .resources import GroupResourceView, ResourceView, UserResourceView

__all__ = ["GroupSearchView", "RootSearchView", "UserSearchView"]


class UserSearchView(UserResourceView):
    """POST /Users/.search (RFC 7644 section 3.4.3)."""

    def post(self, request: Request) -> Response:
        return self.list_response(self.list_query(self.resource, self.body()))


class GroupSearchView(GroupResourceView):
    """POST /Groups/.search."""

    def post(self, request: Request) -> Response:
        return self.list_response(self.list_query(self.resource, self.body()))


class RootSearchView(ScimView):
    """POST /.search: one SearchRequest over Users and then Groups (RFC 7644 section 3.4.3)."""

    def post(self, request: Request) -> Response:
        body = self.body()
        query = self.list_query(None, body)
        if query.cursor is not None:
            raise InvalidValueError(
                "Cursor pagination is not offered across resource types: page /.search with"
                " startIndex, or walk /Users/.search and /Groups/.search with a cursor."
            )
        views: list[ResourceView[Any]] = [UserResourceView(), GroupResourceView()]
        for view in views:  # their resource types are the token's organization's
            view.request, view.args, view.kwargs = self.request, (), {}
        lenient = _types_lacking_filter_attributes(query.filter, views)
        offset, remaining, total, docs = query.start_index - 1, query.count, 0, []
        for view in views:
            typed = self.list_query(view.resource, body)
            options = {"unknown_is_unassigned": view.resource in lenient}
            count = view.search(replace(typed, start_index=1, count=0), **options)[1]
            if remaining and offset < count:
                page_query = replace(typed, start_index=offset + 1, count=remaining)
                page, _ = view.search(page_query, total=count, **options)
                docs.extend(page)
                remaining -= len(page)
            offset = max(0, offset - count)
            total += count
        return Response(list_response(docs, total, query.start_index))


def _types_lacking_filter_attributes(
    text: str | None, views: list[ResourceView[Any]]
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
