"""SCIM Bulk (RFC 7644 section 3.7) on plain data: the request, its bulkId graph, the response.

``parse_bulk_request`` reads a BulkRequest into ``BulkOperation`` values. Only
a body that is not a BulkRequest at all fails the whole request (400, or 413
past ``max_operations``); an operation that is malformed on its own (an
unknown method, a path that is not ``/Users``, ``/Groups`` or one of their
resources, a POST without a ``bulkId``, a ``bulkId`` an earlier operation
already uses, a POST or PUT body that cannot be normalized) carries its
``error`` and fails alone when its turn comes (section 3.7.3).

References (section 3.7.2). A string ``"bulkId:<id>"`` in an operation's
``data``, or as the id of its ``path`` (``/Users/bulkId:<id>``), names the
resource that the POST with that ``bulkId`` creates; ``resolve_references``
puts that resource's id in its place before the operation runs. A reference
is a whole string value: ``bulkId:`` inside a longer string is left alone,
except as a quoted value in a PATCH operation's path filter
(``members[value eq "bulkId:<id>"]``), where a resource id is allowed too.

Order (``plan_bulk``). An operation runs after the POSTs it references,
whatever the order the client sent them in, so a group listed before its
members still gets them; among operations that do not depend on each other
the client's order is kept. Operations that reference each other in a cycle
(section 3.7.1: two groups that contain each other, users who manage each
other) form one cyclic ``Step``: each is created without its references to
those not created yet (``without_references``), which a PATCH then adds
(``link_request``). A cycle can be broken only where the reference is a
group's ``members[].value`` or the enterprise ``manager`` (``linkable``); one
that closes through any other reference fails with 409 ``invalidValue``, as
does a reference to no POST of the request or to one that failed.

``bulk_response`` builds the BulkResponse: the operations that ran, in the
client's order, each with its ``status`` as a string (section 3.7.3).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import constants as c
from .documents import normalize_document
from .errors import (
    BulkReferenceError,
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    PayloadTooLargeError,
    ScimError,
)
from .schemas import GROUP_RESOURCE, RESOURCE_TYPES, USER_RESOURCE, ResourceType

__all__ = [
    "METHODS",
    "BulkOperation",
    "BulkRequest",
    "BulkResult",
    "Step",
    "bulk_response",
    "link_request",
    "parse_bulk_request",
    "plan_bulk",
    "references_in",
    "resolve_path_references",
    "resolve_references",
    "without_references",
]

METHODS = ("POST", "PUT", "PATCH", "DELETE")
_RESOURCES = {resource.endpoint: resource for resource in RESOURCE_TYPES}
_PATH = re.compile(rf"/?({'|'.join(_RESOURCES)})(?:/([^/]+))?/?")
# A reference as a quoted value in a PATCH path filter: members[value eq "bulkId:x"].
_QUOTED_REFERENCE = re.compile(r'"bulkId:([^"\\]+)"')
# No SCIM document is nested this deep; references below it are neither sought nor replaced.
_MAX_DEPTH = 32


@dataclass(frozen=True)
class BulkOperation:
    """One operation of a BulkRequest, parsed (RFC 7644 section 3.7).

    ``resource_id`` is the id of the path, possibly a ``bulkId:`` reference.
    ``references`` are the bulkIds the path and the data name; ``linkable``
    those of a POST that appear only as members or manager, so that they can
    be added after the creation when a cycle demands it.
    """

    index: int
    method: str | None = None
    bulk_id: str | None = None
    version: str | None = None
    resource: ResourceType | None = None
    resource_id: str | None = None
    data: Any = None
    error: ScimError | None = None
    references: frozenset[str] = frozenset()
    linkable: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BulkRequest:
    """The operations of a BulkRequest, and how many errors it tolerates (None: any number)."""

    operations: tuple[BulkOperation, ...]
    fail_on_errors: int | None = None


@dataclass(frozen=True)
class Step:
    """Operations that run in turn; a ``cyclic`` step creates all of them, then links them."""

    operations: tuple[BulkOperation, ...]
    cyclic: bool = False


@dataclass(frozen=True)
class BulkResult:
    """What one operation that ran did: its status, and where the resource is, or the error body."""

    index: int
    method: str | None
    bulk_id: str | None
    status: int
    location: str | None = None
    version: str | None = None
    response: dict[str, Any] | None = None


def parse_bulk_request(body: Any, *, max_operations: int) -> BulkRequest:
    """Validate a BulkRequest body (RFC 7644 section 3.7); 413 past ``max_operations``."""
    if not isinstance(body, dict):
        raise InvalidSyntaxError("The request body must be a JSON object.")
    schemas = _get(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(uri, str) and uri.lower() == c.BULK_REQUEST.lower() for uri in schemas
    ):
        raise InvalidSyntaxError(f"'schemas' must contain '{c.BULK_REQUEST}'.")
    raw_operations = _get(body, "Operations")
    if not isinstance(raw_operations, list):
        raise InvalidSyntaxError("'Operations' must be a list.")
    if len(raw_operations) > max_operations:
        raise PayloadTooLargeError(
            f"The bulk request has {len(raw_operations)} operations; this server takes at most"
            f" {max_operations} (maxOperations) in one request."
        )
    fail_on_errors = _get(body, "failOnErrors")
    if fail_on_errors is not None and (
        not isinstance(fail_on_errors, int)
        or isinstance(fail_on_errors, bool)
        or fail_on_errors < 1
    ):
        raise InvalidValueError("'failOnErrors' must be a positive integer.")
    operations: list[BulkOperation] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_operations):
        operation = _parse_operation(index, raw)
        if operation.bulk_id is not None and operation.bulk_id in seen:
            message = f'bulkId "{operation.bulk_id}" is already used by an earlier operation.'
            operation = replace(operation, error=operation.error or InvalidValueError(message))
        elif operation.bulk_id is not None:
            seen.add(operation.bulk_id)
        operations.append(operation)
    return BulkRequest(tuple(operations), fail_on_errors)


def _parse_operation(index: int, raw: Any) -> BulkOperation:
    if not isinstance(raw, dict):
        return BulkOperation(index, error=InvalidSyntaxError("An operation must be a JSON object."))
    method, bulk_id, version = _get(raw, "method"), _get(raw, "bulkId"), _get(raw, "version")
    operation = BulkOperation(
        index,
        method=method.upper() if isinstance(method, str) and method.upper() in METHODS else None,
        bulk_id=bulk_id if isinstance(bulk_id, str) and bulk_id else None,
        version=version if isinstance(version, str) else None,
        data=_get(raw, "data"),
    )
    try:
        resource, resource_id = _check_path(
            _check_method(method, bulk_id, version), _get(raw, "path")
        )
        operation = replace(operation, resource=resource, resource_id=resource_id)
        return _with_references(operation, resource)
    except ScimError as error:
        return replace(operation, error=error)


def _check_method(method: Any, bulk_id: Any, version: Any) -> str:
    """The operation's method, upper-cased; 400 when it, ``bulkId`` or ``version`` is malformed."""
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InvalidValueError(f"'method' must be one of {', '.join(METHODS)}.")
    if bulk_id is not None and (not isinstance(bulk_id, str) or not bulk_id):
        raise InvalidValueError("'bulkId' must be a non-empty string.")
    if method.upper() == "POST" and bulk_id is None:
        raise InvalidValueError("A POST operation needs a 'bulkId' (RFC 7644 section 3.7).")
    if version is not None and not isinstance(version, str):
        raise InvalidValueError("'version' must be a string: the resource's ETag.")
    return method.upper()


def _check_path(method: str, path: Any) -> tuple[ResourceType, str | None]:
    """The resource type and id the path names; 400 ``invalidPath`` when it names neither."""
    found = _PATH.fullmatch(path) if isinstance(path, str) else None
    if found is None:
        raise InvalidPathError(
            "'path' must be /Users, /Groups, or one resource such as /Users/{id}."
        )
    if (method == "POST") != (found[2] is None):
        raise InvalidPathError(
            "A POST operation's path is /Users or /Groups; a PUT, PATCH or DELETE operation's"
            " path names one resource, such as /Users/{id}."
        )
    return _RESOURCES[found[1]], found[2]


def _with_references(operation: BulkOperation, resource: ResourceType) -> BulkOperation:
    """``operation`` with the bulkIds it references (and, for a POST or PUT, its body checked)."""
    data, named = operation.data, set()
    if operation.method in ("POST", "PUT"):
        # The same normalization the operation gets when it runs: a body it refuses fails now,
        # and a reference in an attribute it drops is no reference.
        data = normalize_document(operation.data, resource, require=True)
    if operation.method != "DELETE":
        named |= references_in(data)
    if operation.method == "PATCH":
        named |= {ref for path in _patch_paths(data) for ref in _QUOTED_REFERENCE.findall(path)}
    if operation.resource_id and operation.resource_id.startswith(c.BULK_ID_PREFIX):
        named.add(operation.resource_id.removeprefix(c.BULK_ID_PREFIX))
    linkable: set[str] = set()
    if operation.method == "POST":
        linked = references_in(_link_values(data, resource))
        elsewhere = references_in(without_references(data, resource, linked))
        linkable = linked - elsewhere
    return replace(operation, references=frozenset(named), linkable=frozenset(linkable))


def references_in(value: Any, _depth: int = 0) -> set[str]:
    """The bulkIds that ``"bulkId:<id>"`` strings anywhere in ``value`` name."""
    if isinstance(value, str):
        return (
            {value.removeprefix(c.BULK_ID_PREFIX)} if value.startswith(c.BULK_ID_PREFIX) else set()
        )
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    if _depth >= _MAX_DEPTH:
        return set()
    found: set[str] = set()
    for item in items:
        found |= references_in(item, _depth + 1)
    return found


def resolve_references(value: Any, ids: Mapping[str, str], _depth: int = 0) -> Any:
    """A copy of ``value`` with each ``"bulkId:<id>"`` whose id ``ids`` knows replaced by it."""
    if isinstance(value, str):
        if value.startswith(c.BULK_ID_PREFIX):
            return ids.get(value.removeprefix(c.BULK_ID_PREFIX), value)
        return value
    if _depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {key: resolve_references(item, ids, _depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_references(item, ids, _depth + 1) for item in value]
    return value


def _patch_paths(data: Any) -> list[str]:
    """The paths of a PatchOp body's operations (its ``Operations`` key in any case)."""
    found = (
        [v for k, v in data.items() if k.lower() == "operations"] if isinstance(data, dict) else []
    )
    operations = found[0] if found and isinstance(found[0], list) else []
    paths = (
        next((v for k, v in op.items() if k.lower() == "path"), None)
        for op in operations
        if isinstance(op, dict)
    )
    return [path for path in paths if isinstance(path, str)]


def resolve_path_references(data: Any, ids: Mapping[str, str]) -> Any:
    """A PatchOp body, each quoted ``"bulkId:<id>"`` in its paths that ``ids`` knows replaced."""
    if not isinstance(data, dict):
        return data

    def resolve(match: re.Match[str]) -> str:
        return f'"{ids[match[1]]}"' if match[1] in ids else match[0]

    def path_of(op: dict[str, Any]) -> dict[str, Any]:
        return {
            k: _QUOTED_REFERENCE.sub(resolve, v)
            if k.lower() == "path" and isinstance(v, str)
            else v
            for k, v in op.items()
        }

    return {
        k: [path_of(op) if isinstance(op, dict) else op for op in v]
        if k.lower() == "operations" and isinstance(v, list)
        else v
        for k, v in data.items()
    }


def _link_values(doc: dict[str, Any], resource: ResourceType) -> list[Any]:
    """What a normalized POST body names as members (Group) or manager (User)."""
    if resource is GROUP_RESOURCE:
        return [item.get("value") for item in doc.get("members") or () if isinstance(item, dict)]
    manager = (doc.get(c.ENTERPRISE_USER_SCHEMA) or {}).get("manager")
    return [manager.get("value")] if isinstance(manager, dict) else []


def without_references(
    doc: dict[str, Any], resource: ResourceType, bulk_ids: Iterable[str]
) -> dict[str, Any]:
    """A normalized POST body without the members or manager that reference ``bulk_ids``."""
    refs = {c.BULK_ID_PREFIX + bulk_id for bulk_id in bulk_ids}
    out = dict(doc)
    if resource is GROUP_RESOURCE and out.get("members"):
        out["members"] = [
            item
            for item in out["members"]
            if not (isinstance(item, dict) and item.get("value") in refs)
        ]
    enterprise = out.get(c.ENTERPRISE_USER_SCHEMA)
    if resource is USER_RESOURCE and isinstance(enterprise, dict):
        manager = enterprise.get("manager")
        if isinstance(manager, dict) and manager.get("value") in refs:
            out[c.ENTERPRISE_USER_SCHEMA] = {k: v for k, v in enterprise.items() if k != "manager"}
    return out


def link_request(resource: ResourceType, ids: Sequence[str]) -> dict[str, Any]:
    """The PatchOp body that adds, after a cycle's creations, the references left out of one."""
    operation: dict[str, Any]
    if resource is GROUP_RESOURCE:
        operation = {"op": "add", "path": "members", "value": [{"value": pk} for pk in ids]}
    else:
        manager = f"{c.ENTERPRISE_USER_SCHEMA}:manager"
        operation = {"op": "replace", "path": manager, "value": {"value": ids[0]}}
    return {"schemas": [c.PATCH_OP], "Operations": [operation]}


def plan_bulk(operations: Sequence[BulkOperation]) -> list[Step]:
    """The steps in which the operations run: after what they reference, else in the client's order.

    RFC 7644 sections 3.7.1 and 3.7.2. The operations that reference each
    other form strongly connected components of the reference graph; these
    run in topological order, the one holding the client's earliest
    operation first among those ready.
    """
    by_index = {operation.index: operation for operation in operations}
    creators: dict[str, int] = {}
    for operation in operations:
        if operation.method == "POST" and operation.bulk_id is not None:
            creators.setdefault(operation.bulk_id, operation.index)
    edges = {
        operation.index: (
            {creators[ref] for ref in operation.references if ref in creators}
            if operation.error is None
            else set()
        )
        for operation in operations
    }
    components = {min(found): found for found in _components(edges)}
    head = {node: first for first, found in components.items() for node in found}
    order = _topological(
        {
            first: {head[target] for node in found for target in edges[node]} - {first}
            for first, found in components.items()
        }
    )
    return [_step([by_index[i] for i in components[first]], edges, creators) for first in order]


def _step(
    operations: list[BulkOperation], edges: dict[int, set[int]], creators: dict[str, int]
) -> Step:
    """One component as a step; a cycle is ordered by its references that cannot wait."""
    only = operations[0]
    if len(operations) == 1 and only.index not in edges[only.index]:
        return Step((only,))
    inside = {operation.index for operation in operations}
    must_exist_first = {
        operation.index: {
            creators[ref] for ref in operation.references - operation.linkable if ref in creators
        }
        & inside
        for operation in operations
    }
    order = _topological(must_exist_first)
    if len(order) == len(operations):
        by_index = {operation.index: operation for operation in operations}
        return Step(tuple(by_index[i] for i in order), cyclic=True)
    names = ", ".join(f'"{operation.bulk_id}"' for operation in operations)
    error = BulkReferenceError(
        f"The bulkIds {names} reference each other in a cycle that cannot be broken: a cycle"
        " is resolved only through a group's members or a user's manager."
    )
    return Step(tuple(replace(operation, error=error) for operation in operations))


def _components(edges: Mapping[int, set[int]]) -> list[list[int]]:
    """Strongly connected components (Tarjan's algorithm, without recursion), each sorted."""
    number: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    found: list[list[int]] = []
    for root in sorted(edges):
        if root in number:
            continue
        number[root] = low[root] = len(number)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(edges[root])))]
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None and target not in number:
                number[target] = low[target] = len(number)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(sorted(edges[target]))))
            elif target is not None:
                if target in on_stack:
                    low[node] = min(low[node], number[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == number[node]:
                    component: list[int] = []
                    while not component or component[-1] != node:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    found.append(sorted(component))
    return found


def _topological(dependencies: Mapping[int, set[int]]) -> list[int]:
    """Nodes after their dependencies, the smallest ready one first; those on a cycle left out."""
    waiting = {node: set(found) for node, found in dependencies.items()}
    dependents: dict[int, list[int]] = {}
    for node, found in waiting.items():
        for dependency in found:
            dependents.setdefault(dependency, []).append(node)
    ready = [node for node, found in waiting.items() if not found]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for dependent in dependents.get(node, ()):
            waiting[dependent].discard(node)
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    return order


def bulk_response(results: Iterable[BulkResult]) -> dict[str, Any]:
    """The BulkResponse body (RFC 7644 section 3.7.3): the results in the client's order."""
    operations = []
    for result in sorted(results, key=lambda found: found.index):
        item: dict[str, Any] = {}
        if result.method is not None:
            item["method"] = result.method
        if result.bulk_id is not None:
            item["bulkId"] = result.bulk_id
        if result.location is not None:
            item["location"] = result.location
        if result.version is not None:
            item["version"] = result.version
        item["status"] = str(result.status)
        if result.response is not None:
            item["response"] = result.response
        operations.append(item)
    return {"schemas": [c.BULK_RESPONSE], "Operations": operations}


def _get(mapping: dict[str, Any], key: str) -> Any:
    """``mapping[key]`` with a case-insensitive key (RFC 7643 section 2.1), None when absent."""
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    return next(
        (
            value
            for name, value in mapping.items()
            if isinstance(name, str) and name.lower() == lowered
        ),
        None,
    )
