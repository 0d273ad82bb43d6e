"""The resource schemas of RFC 7643 section 4 as data, and their discovery documents.

Every other protocol module asks this one about attributes: is it
case-exact, when is it returned, may a client change it, is it multi-valued.
The Schemas endpoint renders the same definitions (RFC 7643 section 7), so
what the server advertises and what it does cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import constants as c

# Characteristics of RFC 7643 section 2.2 and section 7.
READ_ONLY = "readOnly"
READ_WRITE = "readWrite"
IMMUTABLE = "immutable"
WRITE_ONLY = "writeOnly"

ALWAYS = "always"
NEVER = "never"
DEFAULT = "default"
REQUEST = "request"

STRING = "string"
BOOLEAN = "boolean"
DECIMAL = "decimal"
INTEGER = "integer"
DATETIME = "dateTime"
REFERENCE = "reference"
COMPLEX = "complex"
BINARY = "binary"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition of RFC 7643 section 7."""

    name: str
    type: str = STRING
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = READ_WRITE
    returned: str = DEFAULT
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    def sub_attribute(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` (case-insensitively), if there is one."""
        lowered = name.lower()
        for sub in self.sub_attributes:
            if sub.name.lower() == lowered:
                return sub
        return None

    def to_document(self) -> dict[str, Any]:
        """The attribute as it appears in a Schemas response."""
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
        }
        if self.type in (STRING, REFERENCE, BINARY):
            doc["caseExact"] = self.case_exact
        if self.canonical_values:
            doc["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            doc["subAttributes"] = [sub.to_document() for sub in self.sub_attributes]
        doc["mutability"] = self.mutability
        doc["returned"] = self.returned
        doc["uniqueness"] = self.uniqueness
        return doc


@dataclass(frozen=True)
class Schema:
    """A schema of RFC 7643 section 7: an id (URN) and its attributes."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> Attribute | None:
        """The top-level attribute called ``name`` (case-insensitively), if there is one."""
        lowered = name.lower()
        for attr in self.attributes:
            if attr.name.lower() == lowered:
                return attr
        return None

    def to_document(self, base_url: str) -> dict[str, Any]:
        """The Schemas resource for this schema, with its absolute location."""
        return {
            "schemas": [c.SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attr.to_document() for attr in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.id}"},
        }


@dataclass(frozen=True)
class ResourceType:
    """A resource type of RFC 7643 section 6: an endpoint, a core schema, extensions."""

    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()
    # Common attributes (RFC 7643 section 3.1) every resource has besides its schema's.
    common: tuple[Attribute, ...] = field(default=())

    def all_schemas(self) -> tuple[Schema, ...]:
        return (self.schema, *self.extensions)

    def schema_for(self, urn: str) -> Schema | None:
        """The core or extension schema with this URN (case-insensitively), if this type has it.

        The SCIM 1.1 URNs that some clients (OneLogin) still send are read as
        their 2.0 schemas, so their data is kept rather than dropped.
        """
        lowered = LEGACY_URNS.get(urn.lower(), urn.lower())
        if lowered == LEGACY_CORE:
            return self.schema
        return next((s for s in self.all_schemas() if s.id.lower() == lowered), None)

    def extension(self, urn: str) -> Schema | None:
        """The extension schema with this URN (case-insensitively), if this type has it."""
        lowered = urn.lower()
        for ext in self.extensions:
            if ext.id.lower() == lowered:
                return ext
        return None

    def resolve(self, urn: str | None, name: str) -> tuple[Schema, Attribute] | None:
        """Find a top-level attribute by optional schema URN and name.

        Without a URN, the core schema and then the common attributes are
        searched (RFC 7644 section 3.10: the core schema is the default).
        """
        schema = self.schema if urn is None else self.schema_for(urn)
        if schema is None:
            return None
        attr = schema.attribute(name)
        if attr is None and schema is self.schema:
            attr = _find(self.common, name)
        return (schema, attr) if attr else None

    def to_document(self, base_url: str) -> dict[str, Any]:
        """The ResourceTypes resource for this type, with its absolute location."""
        return {
            "schemas": [c.RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": f"/{self.endpoint}",
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": ext.id, "required": False} for ext in self.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/{self.name}",
            },
        }


LEGACY_CORE = "urn:scim:schemas:core:1.0"
LEGACY_URNS = {"urn:scim:schemas:extension:enterprise:1.0": c.ENTERPRISE_USER_SCHEMA.lower()}


def _find(attributes: tuple[Attribute, ...], name: str) -> Attribute | None:
    lowered = name.lower()
    return next((a for a in attributes if a.name.lower() == lowered), None)


def _multi(
    name: str,
    description: str,
    *,
    canonical: tuple[str, ...] = (),
    value_type: str = STRING,
    case_exact: bool = False,
    extra: tuple[Attribute, ...] = (),
) -> Attribute:
    """A multi-valued complex attribute with RFC 7643's value/display/type/primary."""
    return Attribute(
        name,
        COMPLEX,
        multi_valued=True,
        description=description,
        sub_attributes=(
            Attribute("value", value_type, case_exact=case_exact, description=f"A {name} value."),
            Attribute("display", description="A human-readable name, primarily for display."),
            Attribute("type", canonical_values=canonical, description="A label for the function."),
            Attribute("primary", BOOLEAN, description="Whether this is the primary value."),
            *extra,
        ),
    )


def _meta_attribute() -> Attribute:
    return Attribute(
        "meta",
        COMPLEX,
        mutability=READ_ONLY,
        description="Resource metadata.",
        sub_attributes=(
            Attribute("resourceType", case_exact=True, mutability=READ_ONLY),
            Attribute("created", DATETIME, mutability=READ_ONLY),
            Attribute("lastModified", DATETIME, mutability=READ_ONLY),
            Attribute(
                "location",
                REFERENCE,
                case_exact=True,
                mutability=READ_ONLY,
                reference_types=("uri",),
            ),
            Attribute("version", case_exact=True, mutability=READ_ONLY),
        ),
    )


COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "id",
        case_exact=True,
        mutability=READ_ONLY,
        returned=ALWAYS,
        uniqueness="server",
        description="Unique identifier assigned by the service provider.",
    ),
    Attribute(
        "externalId",
        case_exact=True,
        description="Identifier of the resource as defined by the provisioning client.",
    ),
    _meta_attribute(),
)

_MEMBER_REF = Attribute(
    "$ref",
    REFERENCE,
    reference_types=("User", "Group"),
    mutability=IMMUTABLE,
    description="The URI of the member.",
)

USER = Schema(
    c.USER_SCHEMA,
    "User",
    "User Account",
    (
        Attribute(
            "userName",
            required=True,
            returned=ALWAYS,
            uniqueness="server",
            description="Unique identifier for the User, unique per organization.",
        ),
        Attribute(
            "name",
            COMPLEX,
            description="The components of the user's real name.",
            sub_attributes=(
                Attribute("formatted"),
                Attribute("familyName"),
                Attribute("givenName"),
                Attribute("middleName"),
                Attribute("honorificPrefix"),
                Attribute("honorificSuffix"),
            ),
        ),
        Attribute("displayName", description="The name of the User, suitable for display."),
        Attribute("nickName", description="The casual way to address the user."),
        Attribute(
            "profileUrl",
            REFERENCE,
            reference_types=("external",),
            description="A URI of the User's online profile.",
        ),
        Attribute("title", description="The user's title, such as 'Vice President'."),
        Attribute("userType", description="The relationship to the organization, e.g. 'Employee'."),
        Attribute("preferredLanguage", description="Preferred written or spoken language."),
        Attribute("locale", description="Default location for localizing values."),
        Attribute("timezone", description="Time zone in IANA format, e.g. 'Europe/Paris'."),
        Attribute("active", BOOLEAN, description="The user's administrative status."),
        Attribute(
            "password",
            mutability=WRITE_ONLY,
            returned=NEVER,
            description="Write-only; never returned.",
        ),
        _multi("emails", "Email addresses for the user.", canonical=("work", "home", "other")),
        _multi(
            "phoneNumbers",
            "Phone numbers for the user.",
            canonical=("work", "home", "mobile", "fax", "pager", "other"),
        ),
        _multi(
            "ims",
            "Instant messaging addresses.",
            canonical=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        ),
        _multi(
            "photos",
            "URLs of photos of the user.",
            canonical=("photo", "thumbnail"),
            value_type=REFERENCE,
            case_exact=True,
        ),
        Attribute(
            "addresses",
            COMPLEX,
            multi_valued=True,
            description="Physical mailing addresses.",
            sub_attributes=(
                Attribute("formatted"),
                Attribute("streetAddress"),
                Attribute("locality"),
                Attribute("region"),
                Attribute("postalCode"),
                Attribute("country"),
                Attribute("type", canonical_values=("work", "home", "other")),
                Attribute("primary", BOOLEAN),
            ),
        ),
        Attribute(
            "groups",
            COMPLEX,
            multi_valued=True,
            mutability=READ_ONLY,
            description="Groups the user belongs to, direct membership only.",
            sub_attributes=(
                Attribute("value", mutability=READ_ONLY),
                Attribute("$ref", REFERENCE, reference_types=("Group",), mutability=READ_ONLY),
                Attribute("display", mutability=READ_ONLY),
                Attribute("type", mutability=READ_ONLY, canonical_values=("direct",)),
            ),
        ),
        _multi("entitlements", "Entitlements of the user."),
        _multi("roles", "Roles of the user (as sent by the client)."),
        _multi("x509Certificates", "X.509 certificates of the user.", value_type=BINARY),
    ),
)

ENTERPRISE_USER = Schema(
    c.ENTERPRISE_USER_SCHEMA,
    "EnterpriseUser",
    "Enterprise User",
    (
        Attribute("employeeNumber", description="Numeric or alphanumeric employee identifier."),
        Attribute("costCenter", description="Name of a cost center."),
        Attribute("organization", description="Name of an organization."),
        Attribute("division", description="Name of a division."),
        Attribute("department", description="Name of a department."),
        Attribute(
            "manager",
            COMPLEX,
            description="The user's manager.",
            sub_attributes=(
                Attribute("value", description="The id of the manager's SCIM User."),
                Attribute("$ref", REFERENCE, reference_types=("User",)),
                Attribute("displayName", mutability=READ_ONLY),
            ),
        ),
    ),
)

GROUP = Schema(
    c.GROUP_SCHEMA,
    "Group",
    "Group",
    (
        Attribute(
            "displayName",
            required=True,
            uniqueness="server",
            description="A human-readable name for the Group, unique per organization.",
        ),
        Attribute(
            "members",
            COMPLEX,
            multi_valued=True,
            description="A list of members.",
            sub_attributes=(
                Attribute(
                    "value", mutability=IMMUTABLE, description="The id of a member User or Group."
                ),
                _MEMBER_REF,
                Attribute("display", mutability=READ_ONLY),
                Attribute("type", mutability=IMMUTABLE, canonical_values=("User", "Group")),
            ),
        ),
    ),
)

USER_RESOURCE = ResourceType(
    "User", "Users", "User Account", USER, (ENTERPRISE_USER,), COMMON_ATTRIBUTES
)
GROUP_RESOURCE = ResourceType("Group", "Groups", "Group", GROUP, (), COMMON_ATTRIBUTES)

RESOURCE_TYPES: tuple[ResourceType, ...] = (USER_RESOURCE, GROUP_RESOURCE)
SCHEMAS: tuple[Schema, ...] = (USER, ENTERPRISE_USER, GROUP)
