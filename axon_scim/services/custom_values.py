"""Storing the custom attribute values of a user or group, for the services that write them.

Called inside the caller's transaction, after the owner row is locked and
saved (see services._common for the lock order; these rows are the owner's
own and need no lock of their own).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..extension_models import ScimExtensionValue
from ..extension_values import render_extensions, row_state
from ..extensions import custom_schemas
from ..models import Organization, ScimGroup, ScimUser
from ..protocol.schemas import ResourceType


def store_extension_rows(
    organization: Organization,
    owner: ScimUser | ScimGroup,
    rows: list[ScimExtensionValue],
    previous: list[ScimExtensionValue] | None,
) -> None:
    """Write ``rows`` as ``owner``'s custom values; rows are rewritten only when they differ."""
    if previous is not None and row_state(previous) == row_state(rows):
        return
    field = "user" if isinstance(owner, ScimUser) else "group"
    if previous:
        ScimExtensionValue.objects.for_tenant(organization).filter(**{field: owner}).delete()
    for row in rows:
        row.organization = organization
        setattr(row, field, owner)
    ScimExtensionValue.objects.bulk_create(rows)


def extension_payload(doc: dict[str, Any], resource: ResourceType) -> dict[str, dict[str, Any]]:
    """The custom attributes of a normalized document, by schema URN, as the adapter gets them."""
    return {schema.id: dict(doc.get(schema.id) or {}) for schema in custom_schemas(resource)}


def snapshot_extensions(
    snapshot: dict[str, Any], rows: Sequence[ScimExtensionValue], resource: ResourceType
) -> dict[str, Any]:
    """``snapshot`` (an audit before/after) with the custom attributes of ``rows`` added."""
    if custom_schemas(resource):
        render_extensions(snapshot, rows, resource)
    return snapshot


def with_ignored(snapshot: dict[str, Any], ignored: Sequence[str]) -> dict[str, Any]:
    """``snapshot`` noting the attributes a client sent that nobody declared (kept out)."""
    if ignored:
        snapshot["ignoredAttributes"] = sorted(set(ignored))
    return snapshot


__all__ = ["extension_payload", "snapshot_extensions", "store_extension_rows", "with_ignored"]
