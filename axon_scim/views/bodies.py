"""The bodies of resource writes, read the same way whether they come alone or inside a Bulk.

``UserListView``, ``GroupDetailView`` and the others pass their request
body here, and so does ``BulkView`` for each operation's ``data``: one
normalization (``protocol.documents``), one PATCH parser, and the same
limits of the settings (``MAX_MEMBERS_PER_WRITE``, ``MAX_PATCH_OPERATIONS``,
``MAX_PATCH_COST``), so that an operation of a Bulk is refused exactly when
the same request sent alone would be.
"""

from __future__ import annotations

from typing import Any

from ..conf import scim_settings
from ..protocol import errors
from ..protocol.documents import normalize_document
from ..protocol.patch import PatchOperation, parse_patch_request
from ..protocol.schemas import GROUP_RESOURCE, USER_RESOURCE, ResourceType

__all__ = ["group_document", "patch_operations", "resource_document", "user_document"]


def user_document(
    body: Any, resource: ResourceType = USER_RESOURCE, ignored: list[str] | None = None
) -> dict[str, Any]:
    """A User's POST or PUT body, normalized; 400 without a ``userName``.

    ``resource`` is the User type with the organization's extensions
    (``extensions.resource_type``); the names of attributes it does not know
    are appended to ``ignored``.
    """
    return normalize_document(body, resource, require=True, ignored=ignored)


def group_document(
    body: Any, resource: ResourceType = GROUP_RESOURCE, ignored: list[str] | None = None
) -> dict[str, Any]:
    """A Group's POST or PUT body; 400 ``tooMany`` past ``MAX_MEMBERS_PER_WRITE`` members.

    Each member a write names is looked up, linked and possibly given its
    role; more than that many would outlast any sensible request time. As
    for Users, the names of attributes ``resource`` does not know are
    appended to ``ignored``.
    """
    doc = normalize_document(body, resource, require=True, ignored=ignored)
    count, limit = len(doc.get("members") or ()), scim_settings.MAX_MEMBERS_PER_WRITE
    if count > limit:
        raise errors.TooManyError(
            f"The group lists {count} members; this server takes at most {limit} in one"
            " POST or PUT. Add the others with PATCH requests."
        )
    return doc


def resource_document(
    resource: ResourceType, body: Any, ignored: list[str] | None = None
) -> dict[str, Any]:
    """The POST or PUT body of a ``resource`` (User or Group), as its own endpoint reads it."""
    if resource.name == GROUP_RESOURCE.name:
        return group_document(body, resource, ignored)
    return user_document(body, resource, ignored)


def patch_operations(
    body: Any, resource: ResourceType, ignored: list[str] | None = None
) -> list[PatchOperation]:
    """A PatchOp body's operations; 400 ``tooMany`` past the PATCH limits of the settings.

    The names of undeclared attributes it targets are appended to ``ignored``.
    """
    return parse_patch_request(
        body,
        resource,
        max_operations=scim_settings.MAX_PATCH_OPERATIONS,
        max_cost=scim_settings.MAX_PATCH_COST,
        ignored=ignored,
    )
