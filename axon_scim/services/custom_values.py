"""Storing the custom attribute values of a user or group, for the services that write them.

Called inside the caller's transaction, after the owner row is locked and
saved (see services._common for the lock order; these rows are the owner's
own and need no lock of their own).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from django.core.cache import caches

from ..audit import Actor, record_event
from ..conf import scim_settings
from ..extension_models import ScimExtensionValue
from ..extension_values import load_extension_rows, render_extensions, row_state
from ..extensions import custom_schemas, resource_type
from ..models import Organization, ScimGroup, ScimUser
from ..protocol.schemas import GROUP_RESOURCE, ResourceType

logger = logging.getLogger(__name__)

# Seconds between two ``<kind>.ignored_attributes`` events of one organization for the same
# names: identity providers resend what they see missing on every sync cycle.
IGNORED_NOTE_SECONDS = 86400


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


def group_extensions(
    organization: Organization, group: ScimGroup | None
) -> tuple[ResourceType, list[ScimExtensionValue]]:
    """The organization's Group type and ``group``'s custom rows (no query when it has none)."""
    resource = resource_type(GROUP_RESOURCE, organization)
    if group is None or not custom_schemas(resource):
        return resource, []
    return resource, load_extension_rows(organization.pk, "group_id", [group.pk]).get(group.pk, [])


def extension_payload(
    doc: dict[str, Any],
    resource: ResourceType,
    rows: Sequence[ScimExtensionValue] | None = None,
) -> dict[str, dict[str, Any]]:
    """The custom attributes of a write, by schema URN, as the adapter gets them.

    Taken from ``rows`` when given: what is stored, with mutability applied
    (no readOnly input, the writeOnly and immutable values a PUT left out
    kept); else from the normalized document.
    """
    if rows is not None:
        doc = {}
        render_extensions(doc, rows, resource, write_only=True)
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


def note_ignored(
    organization: Organization, actor: Actor, kind: str, pk: object, ignored: Sequence[str]
) -> None:
    """Audit the undeclared attributes of a write that changed nothing else.

    The resource is untouched (no version, no ``<kind>.updated``), but an admin
    should still see what the identity provider sends: a
    ``<kind>.ignored_attributes`` event names them, once a day per organization
    and set of names, since identity providers resend them on every cycle.
    """
    names = sorted(set(ignored))
    if not names:
        return
    digest = hashlib.sha256("\n".join([kind, *names]).encode()).hexdigest()[:32]
    key = f"axon_scim:ignored:{organization.pk}:{digest}"
    try:
        first = caches[scim_settings.RATE_LIMIT_CACHE].add(key, 1, IGNORED_NOTE_SECONDS)
    except Exception:  # any cache backend's own "unavailable" error: the write still succeeds
        logger.warning("Cache unavailable; ignored attributes not audited", exc_info=True)
        return
    if first:
        after = {"ignoredAttributes": names}
        record_event(
            organization, actor, f"{kind.lower()}.ignored_attributes", kind, pk, after=after
        )


__all__ = [
    "extension_payload",
    "group_extensions",
    "note_ignored",
    "snapshot_extensions",
    "store_extension_rows",
    "with_ignored",
]
