"""List and search requests (RFC 7644 sections 3.4.2 and 3.4.3) and the ListResponse.

A GET on a resource endpoint and a POST to ``.search`` carry the same
parameters, one in the query string and one in a SearchRequest body; both
become one ``ListQuery``. Decisions where the RFC leaves room:

- Query parameter names are case-sensitive in RFC 7644, but clients send
  ``startindex`` or ``Count``; names are matched case-insensitively (the
  RFC spelling wins if both are present). SearchRequest keys are matched
  case-insensitively too, as JSON attribute names are (RFC 7643 section 2.1).
- Paging is clamped as section 3.4.2.4 says: ``startIndex`` below 1 is 1,
  ``count`` below 0 is 0, and ``count`` above the server's maximum is the
  maximum. A value that is not an integer is a 400 ``invalidValue``.
- ``attributes`` and ``excludedAttributes`` together are a 400
  ``invalidSyntax``: section 3.4.2.5 offers them as alternatives, and
  honouring both would silently ignore one of them.
- Blank values (``filter=``, ``sortBy=``) and JSON ``null`` count as absent.
- ``sortOrder`` is ``ascending`` or ``descending`` (case-insensitively);
  anything else is a 400 ``invalidValue``. It defaults to ``ascending``
  when ``sortBy`` is given (section 3.4.2.3) and is None when it is not.
- ``filter`` and ``sortBy`` are kept as written: the filter parser and the
  query compiler resolve and validate them with the schema in hand.
- ``cursor`` (RFC 9865 section 2) asks for cursor pages: an empty value is
  the first page, so it is kept apart from an absent one (None). With
  ``startIndex`` as well it is a 400 ``invalidValue``: the two are rival
  pagination methods and the RFC names no error for asking for both. A
  value with characters outside RFC 3986's unreserved set is a 400
  ``invalidCursor`` (no cursor this server issues has them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import constants as c
from .errors import InvalidCursorError, InvalidSyntaxError, InvalidValueError
from .projection import parse_attribute_list
from .schemas import ResourceType

# The RFC spelling of each parameter, by its lower-case form.
_PARAMETERS = {
    name.lower(): name
    for name in (
        "filter",
        "sortBy",
        "sortOrder",
        "startIndex",
        "count",
        "attributes",
        "excludedAttributes",
        "cursor",
    )
}
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
# RFC 9865 section 2: cursors use RFC 3986's unreserved characters only.
_CURSOR = re.compile(r"[A-Za-z0-9._~-]*")


@dataclass(frozen=True)
class ListQuery:
    """The parameters of one list or search request, validated and clamped."""

    filter: str | None
    sort_by: str | None
    sort_order: str | None
    start_index: int
    count: int
    attributes: tuple[str, ...]
    excluded_attributes: tuple[str, ...]
    # None: index pagination; "": the first cursor page; else a nextCursor (RFC 9865).
    cursor: str | None = None

    @classmethod
    def from_query_params(
        cls,
        params: Mapping[str, str],
        resource: ResourceType | None,
        *,
        default_count: int,
        max_count: int,
    ) -> ListQuery:
        """Build the query of a GET on a resource endpoint (RFC 7644 section 3.4.2)."""
        values: dict[str, Any] = {}
        for key in params:
            name = _PARAMETERS.get(key.lower())
            # The exact RFC spelling wins over another casing of the same name.
            if name is not None and (name not in values or key == name):
                values[name] = params[key]
        return cls._build(values, resource, default_count=default_count, max_count=max_count)

    @classmethod
    def from_search_request(
        cls,
        body: Any,
        resource: ResourceType | None,
        *,
        default_count: int,
        max_count: int,
    ) -> ListQuery:
        """Build the query of a POST to ``.search`` from its SearchRequest body (RFC 7644 3.4.3).

        ``resource`` is None for a search at the server root, across types.
        """
        if not isinstance(body, dict):
            raise InvalidSyntaxError("A SearchRequest body must be a JSON object.")
        fields = {key.lower(): value for key, value in body.items() if isinstance(key, str)}
        schemas = fields.get("schemas")
        if not isinstance(schemas, list) or not any(
            isinstance(urn, str) and urn.lower() == c.SEARCH_REQUEST.lower() for urn in schemas
        ):
            raise InvalidSyntaxError(f"A SearchRequest must list {c.SEARCH_REQUEST} in 'schemas'.")
        values = {
            name: fields[lowered] for lowered, name in _PARAMETERS.items() if lowered in fields
        }
        return cls._build(values, resource, default_count=default_count, max_count=max_count)

    @classmethod
    def _build(
        cls,
        values: dict[str, Any],
        resource: ResourceType | None,
        *,
        default_count: int,
        max_count: int,
    ) -> ListQuery:
        attributes = _names(values, "attributes")
        excluded = _names(values, "excludedAttributes")
        if attributes and excluded:
            raise InvalidSyntaxError("Send either 'attributes' or 'excludedAttributes', not both.")
        sort_by = _text(values, "sortBy")
        sort_order = _text(values, "sortOrder")
        if sort_order is not None:
            sort_order = sort_order.lower()
            if sort_order not in (c.SORT_ASCENDING, c.SORT_DESCENDING):
                raise InvalidValueError(
                    f"'sortOrder' must be '{c.SORT_ASCENDING}' or '{c.SORT_DESCENDING}'."
                )
        start_index = _integer(values, "startIndex")
        count = _integer(values, "count")
        cursor = _cursor(values)
        if cursor is not None and start_index is not None:
            raise InvalidValueError("Send either 'cursor' or 'startIndex', not both.")
        return cls(
            filter=_text(values, "filter"),
            sort_by=sort_by,
            sort_order=(sort_order or c.SORT_ASCENDING) if sort_by is not None else None,
            start_index=max(1, 1 if start_index is None else start_index),
            count=max(0, min(max_count, default_count if count is None else count)),
            attributes=parse_attribute_list(attributes, resource),
            excluded_attributes=parse_attribute_list(excluded, resource),
            cursor=cursor,
        )


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    """The ListResponse body of RFC 7644 section 3.4.2, for one page of resources."""
    return {
        "schemas": [c.LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def cursor_list_response(
    resources: list[dict[str, Any]], total: int | None, next_cursor: str | None
) -> dict[str, Any]:
    """The ListResponse of one cursor page (RFC 9865 section 2).

    ``total`` None leaves ``totalResults`` out; ``next_cursor`` None marks the
    last page. There is no ``startIndex``: a cursor page has no index.
    """
    body: dict[str, Any] = {"schemas": [c.LIST_RESPONSE]}
    if total is not None:
        body["totalResults"] = total
    body["itemsPerPage"] = len(resources)
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    body["Resources"] = resources
    return body


def _text(values: dict[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError(f"'{name}' must be a string.")
    return value.strip() or None


def _integer(values: dict[str, Any], name: str) -> int | None:
    value = values.get(name)
    if value is None:
        return None
    # bool is an int in Python, but ``"count": true`` is no number.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        if _INTEGER.fullmatch(value):
            return int(value)
    raise InvalidValueError(f"'{name}' must be an integer, not {value!r}.")


def _cursor(values: dict[str, Any]) -> str | None:
    """``cursor`` as sent: None when absent or null, "" for the first page."""
    value = values.get("cursor")
    if value is None:
        return None
    if not isinstance(value, str) or not _CURSOR.fullmatch(value.strip()):
        raise InvalidCursorError()
    return value.strip()


def _names(values: dict[str, Any], name: str) -> list[str]:
    """The raw names of ``attributes`` or ``excludedAttributes``: a comma string or a list."""
    value = values.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidValueError(f"'{name}' must be a string or a list of strings.")
    return [part.strip() for item in value for part in item.split(",") if part.strip()]
