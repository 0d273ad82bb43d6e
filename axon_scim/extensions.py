"""Extension schemas beyond the RFC's: declared by the host in settings, or by an organization.

``AXON_SCIM["SCHEMA_EXTENSIONS"]`` lists the host's schemas (the format is in
the README); ``declaration_errors`` says what is wrong with them (the system
check ``axon_scim.E020`` reports it). An organization's own attributes are
``CustomAttribute`` rows under ``organization_urn(org, "User")`` (or ``"Group"``). ``resource_type``
gives the User or Group resource type of one organization with every
extension it has, which is what the views, services, filters and renderers
of that organization's requests use.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from django.core.cache import caches

from .conf import scim_settings
from .models import CustomAttribute, Organization
from .protocol import constants as c
from .protocol.schemas import (
    COMPLEX,
    GROUP_RESOURCE,
    IMMUTABLE,
    NEVER,
    READ_ONLY,
    READ_WRITE,
    USER_RESOURCE,
    WRITE_ONLY,
    Attribute,
    ResourceType,
    Schema,
)

SIMPLE_TYPES = ("string", "boolean", "integer", "decimal", "dateTime", "reference")
MUTABILITIES = (READ_ONLY, READ_WRITE, IMMUTABLE, WRITE_ONLY)
BASE_RESOURCES = {"User": USER_RESOURCE, "Group": GROUP_RESOURCE}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_ATTRIBUTE_KEYS = frozenset(
    {"name", "type", "multiValued", "caseExact", "required", "canonicalValues", "mutability"}
    | {"description", "subAttributes"}
)
_RESERVED = {c.USER_SCHEMA.lower(), c.ENTERPRISE_USER_SCHEMA.lower(), c.GROUP_SCHEMA.lower()}
# Seconds a process keeps an organization's declarations (writes clear them at once).
CACHE_SECONDS = 60


def declaration_errors(declarations: Any) -> list[str]:
    """What is wrong with a ``SCHEMA_EXTENSIONS`` value, one sentence each; empty when valid."""
    if not isinstance(declarations, list | tuple):
        return ["SCHEMA_EXTENSIONS must be a list of schema declarations."]
    errors: list[str] = []
    seen: set[str] = set()
    for index, declared in enumerate(declarations):
        where = f"SCHEMA_EXTENSIONS[{index}]"
        if not isinstance(declared, dict):
            errors.append(f"{where} must be a dict.")
            continue
        urn = declared.get("urn")
        if not isinstance(urn, str) or not urn.startswith("urn:") or urn.lower() in _RESERVED:
            errors.append(f'{where}["urn"] must be a schema URN of your own ("urn:...").')
        elif urn.lower() in seen:
            errors.append(f'{where}["urn"] {urn} is declared twice.')
        else:
            seen.add(urn.lower())
        if declared.get("resourceType") not in BASE_RESOURCES:
            errors.append(f'{where}["resourceType"] must be "User" or "Group".')
        unknown = set(declared) - {"urn", "resourceType", "name", "description", "attributes"}
        if unknown:
            errors.append(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        attributes = declared.get("attributes")
        if not isinstance(attributes, list | tuple) or not attributes:
            errors.append(f'{where}["attributes"] must be a non-empty list.')
            continue
        errors.extend(_attribute_errors(attributes, f"{where}.attributes", nested=False))
    return errors


def _attribute_errors(
    attributes: Any, where: str, *, nested: bool, in_list: bool = False
) -> list[str]:
    errors: list[str] = []
    names: set[str] = set()
    for index, attr in enumerate(attributes):
        here = f"{where}[{index}]"
        if not isinstance(attr, dict):
            errors.append(f"{here} must be a dict.")
            continue
        name = attr.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name.lower() in names:
            errors.append(f'{here}["name"] must be a unique attribute name (letters first).')
        else:
            names.add(name.lower())
        if set(attr) - _ATTRIBUTE_KEYS:
            errors.append(
                f"{here} has unknown keys: {', '.join(sorted(set(attr) - _ATTRIBUTE_KEYS))}."
            )
        kind = attr.get("type", "string")
        subs = attr.get("subAttributes")
        if kind == COMPLEX and not nested:
            if not isinstance(subs, list | tuple) or not subs:
                errors.append(f'{here} is complex: it needs "subAttributes".')
            else:
                errors.extend(
                    _attribute_errors(
                        subs,
                        f"{here}.subAttributes",
                        nested=True,
                        in_list=bool(attr.get("multiValued")),
                    )
                )
        elif kind not in SIMPLE_TYPES:
            errors.append(
                f'{here}["type"] must be one of {", ".join(SIMPLE_TYPES)}'
                + ("" if nested else " or complex")
                + "."
            )
        elif subs is not None:
            errors.append(f'{here} is not complex: it takes no "subAttributes".')
        if nested and attr.get("multiValued"):
            errors.append(f"{here}: a sub-attribute cannot be multi-valued.")
        errors.extend(_characteristic_errors(attr, here, in_list))
        for flag in ("multiValued", "caseExact", "required"):
            if not isinstance(attr.get(flag, False), bool):
                errors.append(f'{here}["{flag}"] must be true or false.')
    return errors


def _characteristic_errors(attr: dict[str, Any], here: str, in_list: bool) -> list[str]:
    """What is wrong with an attribute's ``mutability`` and ``canonicalValues``."""
    errors: list[str] = []
    mutability = attr.get("mutability", READ_WRITE)
    if mutability not in MUTABILITIES:
        errors.append(f'{here}["mutability"] must be one of {", ".join(MUTABILITIES)}.')
    elif in_list and mutability != READ_WRITE:
        # The values of a list are not matched up across writes: the whole attribute takes one.
        errors.append(f'{here}: a sub-attribute of a multi-valued attribute must be "readWrite".')
    canonical = attr.get("canonicalValues", [])
    if not isinstance(canonical, list | tuple) or not all(isinstance(v, str) for v in canonical):
        errors.append(f'{here}["canonicalValues"] must be a list of strings.')
    elif canonical and attr.get("type", "string") not in ("string", "reference"):
        errors.append(f'{here}["canonicalValues"] is for string or reference attributes only.')
    return errors


def _attribute(declared: dict[str, Any]) -> Attribute:
    mutability = declared.get("mutability", READ_WRITE)
    return Attribute(
        declared["name"],
        declared.get("type", "string"),
        multi_valued=bool(declared.get("multiValued", False)),
        description=declared.get("description", ""),
        required=bool(declared.get("required", False)),
        case_exact=bool(declared.get("caseExact", False)),
        mutability=mutability,
        returned=NEVER if mutability == WRITE_ONLY else "default",
        canonical_values=tuple(declared.get("canonicalValues", ())),
        sub_attributes=tuple(_attribute(sub) for sub in declared.get("subAttributes", ())),
    )


def host_schemas(resource_name: str) -> tuple[Schema, ...]:
    """The host-declared extension schemas of ``"User"`` or ``"Group"``, in declaration order."""
    declarations = scim_settings.SCHEMA_EXTENSIONS
    if declaration_errors(declarations):
        return ()  # the system check reports them; serving half a schema would mislead
    return tuple(
        Schema(
            d["urn"],
            d.get("name") or d["urn"].rsplit(":", 2)[-2],
            d.get("description", ""),
            tuple(_attribute(a) for a in d["attributes"]),
        )
        for d in declarations
        if d["resourceType"] == resource_name
    )


def all_host_schemas() -> tuple[Schema, ...]:
    """Every host-declared schema, Users' first."""
    return host_schemas("User") + host_schemas("Group")


def organization_urn(organization: Organization, resource_name: str = "User") -> str:
    """The URN of the organization's own extension schema of ``"User"`` or ``"Group"``."""
    return f"urn:ietf:params:scim:schemas:extension:{organization.slug}:2.0:{resource_name}"


def organization_urn_taken(organization: Organization, resource_name: str = "User") -> bool:
    """Whether the organization's URN is already the RFC's or a host-declared schema's.

    A slug makes it so (``enterprise``, or the slug of a host's own URN); the
    organization then has no extension of that resource type of its own.
    """
    urn = organization_urn(organization, resource_name).lower()
    return urn in _RESERVED or urn in {schema.id.lower() for schema in all_host_schemas()}


def _cache_key(organization_id: int) -> str:
    return f"axon_scim:custom-attributes:{organization_id}"


def forget_organization_schema(organization_id: int) -> None:
    """Drop the cached declarations of an organization (after a change to them)."""
    caches[scim_settings.RATE_LIMIT_CACHE].delete(_cache_key(organization_id))


def organization_schema(
    organization: Organization | None, resource_name: str = "User"
) -> Schema | None:
    """The organization's own extension schema of ``resource_name``, or None when it has none.

    Cached (``CACHE_SECONDS``), both types together, so that a SCIM request
    costs no extra query.
    """
    if organization is None or organization_urn_taken(organization, resource_name):
        return None
    cache = caches[scim_settings.RATE_LIMIT_CACHE]
    # {resource type: rows}; a list is what a version before Group attributes cached.
    rows = cache.get(_cache_key(organization.pk))
    if not isinstance(rows, dict):
        rows = {name: [] for name in BASE_RESOURCES}
        for kind, *row in CustomAttribute.objects.for_tenant(organization).values_list(
            "resource_type", "name", "type", "multi_valued", "case_exact", "description"
        ):
            rows[kind].append(tuple(row))
        cache.set(_cache_key(organization.pk), rows, CACHE_SECONDS)
    declared = rows.get(resource_name) or []
    if not declared:
        return None
    attributes = tuple(
        Attribute(name, kind, multi_valued=multi, case_exact=exact, description=text)
        for name, kind, multi, exact, text in declared
    )
    name = f"{organization.slug} custom attributes"
    urn = organization_urn(organization, resource_name)
    return Schema(urn, f"Custom{resource_name}", name, attributes)


def organization_schemas(organization: Organization | None) -> tuple[Schema, ...]:
    """The organization's own extension schemas, the User one first."""
    found = (organization_schema(organization, name) for name in BASE_RESOURCES)
    return tuple(schema for schema in found if schema is not None)


def resource_type(base: ResourceType, organization: Organization | None) -> ResourceType:
    """``base`` (User or Group) with its host-declared extensions and the organization's own."""
    extra = host_schemas(base.name)
    own = organization_schema(organization, base.name)
    extra += (own,) if own is not None else ()
    if not extra:
        return base
    return replace(base, extensions=(*base.extensions, *extra))


def custom_schemas(resource: ResourceType) -> tuple[Schema, ...]:
    """The extensions of ``resource`` whose values are ``ScimExtensionValue`` rows."""
    return tuple(s for s in resource.extensions if s.id.lower() not in _RESERVED)


__all__ = [
    "BASE_RESOURCES",
    "all_host_schemas",
    "custom_schemas",
    "declaration_errors",
    "forget_organization_schema",
    "host_schemas",
    "organization_schema",
    "organization_schemas",
    "organization_urn",
    "resource_type",
]
