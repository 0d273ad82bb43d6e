"""An organization's own custom attributes: declaring and deleting their definitions.

Each is one transaction with its audit event. The definitions live in
``CustomAttribute`` rows under the organization's extension URN
(``extensions.organization_urn``); the values in ``ScimExtensionValue``.
Locks: a declaration holds the organization row (FOR NO KEY UPDATE, which
no SCIM write's foreign-key check waits for) while it counts and inserts, so
parallel declarations cannot pass ``MAX_CUSTOM_ATTRIBUTES`` together; no
other lock is taken (see services._common). The cached schema of the
organization is dropped after commit.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from ..audit import Actor, audited, record_event
from ..conf import scim_settings
from ..extension_models import ATTRIBUTE_TYPES, CustomAttribute, ScimExtensionValue
from ..extensions import (
    BASE_RESOURCES,
    forget_organization_schema,
    organization_urn,
    organization_urn_taken,
)
from ..models import Organization
from ..protocol.errors import ConflictError, InvalidValueError

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def _summary(attribute: CustomAttribute) -> dict[str, Any]:
    return {
        "schema": organization_urn(attribute.organization, attribute.resource_type),
        "resourceType": attribute.resource_type,
        "name": attribute.name,
        "type": attribute.type,
        "multiValued": attribute.multi_valued,
        "caseExact": attribute.case_exact,
    }


def declare_custom_attribute(
    organization: Organization,
    actor: Actor,
    *,
    name: str,
    type: str = "string",
    multi_valued: bool = False,
    case_exact: bool = False,
    resource_type: str = "User",
) -> CustomAttribute:
    """Declare an attribute of the organization's own User (or Group) extension schema.

    Raises ``InvalidValueError`` for a bad name, type or resource type, or
    past ``MAX_CUSTOM_ATTRIBUTES`` (Users' and Groups' together);
    ``ConflictError`` when the name is taken in that resource type.
    """
    base = BASE_RESOURCES.get(resource_type)
    if base is None:
        raise InvalidValueError(f"resourceType must be one of {', '.join(BASE_RESOURCES)}.")
    if organization_urn_taken(organization, resource_type):
        urn = organization_urn(organization, resource_type)
        raise InvalidValueError(f"{urn}, this organization's URN, is another schema's already.")
    if not _NAME.fullmatch(name) or base.resolve(None, name) is not None:
        raise InvalidValueError(f'"{name}" is not a valid attribute name, or is a core one.')
    if type not in ATTRIBUTE_TYPES:
        raise InvalidValueError(f"type must be one of {', '.join(ATTRIBUTE_TYPES)}.")
    limit = scim_settings.MAX_CUSTOM_ATTRIBUTES
    try:
        with audited(organization):
            locked = Organization.objects.select_for_update(no_key=True).filter(pk=organization.pk)
            list(locked.values_list("pk", flat=True))
            if CustomAttribute.objects.for_tenant(organization).count() >= limit:
                raise InvalidValueError(f"An organization may declare at most {limit} attributes.")
            with transaction.atomic():  # a savepoint: the conflict below leaves the rest usable
                attribute = CustomAttribute.objects.create(
                    organization=organization,
                    resource_type=resource_type,
                    name=name,
                    type=type,
                    multi_valued=multi_valued,
                    case_exact=case_exact,
                )
            record_event(
                organization,
                actor,
                "custom_attribute.declared",
                "CustomAttribute",
                attribute.pk,
                after=_summary(attribute),
            )
            _forget(organization)
    except IntegrityError:
        raise ConflictError(f'An attribute "{name}" is declared already.') from None
    return attribute


def delete_custom_attribute(attribute: CustomAttribute, actor: Actor) -> None:
    """Delete a definition; its values are deleted too and no longer returned.

    The audit events of the writes that stored them keep them (before/after).
    """
    organization = attribute.organization
    with audited(organization):
        key = f"{organization_urn(organization, attribute.resource_type)}:{attribute.name}"
        ScimExtensionValue.objects.for_tenant(organization).filter(key__iexact=key).delete()
        before = _summary(attribute)
        pk = attribute.pk
        attribute.delete()
        record_event(
            organization, actor, "custom_attribute.deleted", "CustomAttribute", pk, before=before
        )
        _forget(organization)


def _forget(organization: Organization) -> None:
    """Drop the cached schema now and again at commit (a read in between may cache the old)."""
    forget_organization_schema(organization.pk)
    transaction.on_commit(lambda: forget_organization_schema(organization.pk))


__all__ = ["declare_custom_attribute", "delete_custom_attribute"]
