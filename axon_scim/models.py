"""Tenants, SCIM users and groups, memberships, roles and tokens (audit: ``audit_models``).

Every tenant table carries ``organization`` and every unique constraint or
index that is not global leads with it, so the schema can be distributed by
organization (Citus) and no query ever needs rows of two organizations.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Self

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import models
from django.db.models import F, FilteredRelation, Q
from django.utils.timezone import now

from .tenant_rows import TenantModel


class Organization(models.Model):
    """A tenant: one customer of the portal, reached through its own SCIM tokens."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    created = models.DateTimeField(default=now)

    class Meta:
        ordering = ["slug"]
        permissions = [("configure_sso", "Configure SSO and SCIM (sso:configure)")]

    def __str__(self) -> str:
        return self.name or self.slug


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, organization: Organization | int) -> Self:
        """Rows of one organization only: the single place SCIM reads are scoped.

        Security-critical: every SCIM view starts from this method with the
        organization of the bearer token, so a token of one organization can
        never read or change rows of another.
        """
        org_id = organization if isinstance(organization, int) else organization.pk
        return self.filter(organization_id=org_id)


class ScimUserQuerySet(TenantQuerySet):
    def with_manager_name(self) -> ScimUserQuerySet:
        """Users with ``manager_display_name``, joined to the manager on both id and organization.

        Unlike ``select_related("manager")``, whose join names the id alone,
        this one stays on the organization's shard (docs/scaling.md).
        """
        same_organization = Q(manager__organization_id=F("organization_id"))
        return self.annotate(
            manager_in_organization=FilteredRelation("manager", condition=same_organization),
            manager_display_name=F("manager_in_organization__display_name"),
        )


class ScimUser(TenantModel):
    """A SCIM User of one organization, linked to a portal account through the adapter.

    Attributes that filters and sorting use are real columns; the
    multi-valued ones are ``ScimUserValue`` rows.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scim_user",
    )
    user_name = models.CharField(max_length=255)
    # Lower-cased copy behind the per-organization unique constraint and the
    # index that ``userName eq`` uses (RFC 7643: userName is caseExact false).
    user_name_lower = models.CharField(max_length=255, editable=False)
    # NULL, not "", is "no externalId": the IdP may send an empty one and they must differ.
    external_id = models.CharField(max_length=255, blank=True, null=True)  # noqa: DJ001
    # None once a PATCH removes it: unassigned, and the portal account keeps its state.
    active = models.BooleanField(null=True, default=True)
    display_name = models.CharField(max_length=255, blank=True, default="")
    nick_name = models.CharField(max_length=255, blank=True, default="")
    profile_url = models.CharField(max_length=1024, blank=True, default="")
    title = models.CharField(max_length=255, blank=True, default="")
    user_type = models.CharField(max_length=255, blank=True, default="")
    preferred_language = models.CharField(max_length=64, blank=True, default="")
    locale = models.CharField(max_length=64, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")
    name_formatted = models.CharField(max_length=512, blank=True, default="")
    name_family = models.CharField(max_length=255, blank=True, default="")
    name_given = models.CharField(max_length=255, blank=True, default="")
    name_middle = models.CharField(max_length=255, blank=True, default="")
    name_honorific_prefix = models.CharField(max_length=64, blank=True, default="")
    name_honorific_suffix = models.CharField(max_length=64, blank=True, default="")
    # urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
    employee_number = models.CharField(max_length=255, blank=True, default="")
    cost_center = models.CharField(max_length=255, blank=True, default="")
    enterprise_organization = models.CharField(max_length=255, blank=True, default="")
    division = models.CharField(max_length=255, blank=True, default="")
    department = models.CharField(max_length=255, blank=True, default="")
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(default=now)
    last_modified = models.DateTimeField(default=now)

    objects = ScimUserQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user_name_lower"], name="axon_scim_user_name_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "external_id"], name="axon_scim_user_ext_id"),
            models.Index(fields=["organization", "created", "id"], name="axon_scim_user_created"),
        ]

    def __str__(self) -> str:
        return self.user_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.user_name_lower = self.user_name.lower()
        super().save(*args, **kwargs)


# The longest ``value`` of each multi-valued User attribute, in characters; a
# longer one is a 400 naming the attribute. Certificates (base64 DER, one per
# value) and photos (URLs, data: URIs among them) need room; the rest are short.
VALUE_MAX_LENGTHS: dict[str, int] = {"x509Certificates": 16384, "photos": 16384}
DEFAULT_VALUE_MAX_LENGTH = 4096


def value_digest(value: str) -> str:
    """The digest that equality lookups of a value row use: MD5 of the lower-cased value, in hex.

    Not a security measure: a short, fixed-size key for an index that a value of
    any length fits (a btree entry holds at most about 2.7 KB), checked against
    the value itself after the index lookup.
    """
    return hashlib.md5(
        value.lower().encode("utf-8", "surrogatepass"), usedforsecurity=False
    ).hexdigest()


class ScimUserValue(TenantModel):
    """One value of a multi-valued User attribute (an email, a phone number, an address ...).

    Rows let ``emails[type eq "work" and value co "@x"]`` compile to a single
    ``Exists()`` subquery on SQLite and PostgreSQL alike. ``value`` may be as
    long as ``max_value_length`` allows, so equality is looked up through the
    indexed ``value_digest`` (``value_digest()`` of the value), then confirmed
    on the value.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(ScimUser, on_delete=models.CASCADE, related_name="values")
    attribute = models.CharField(max_length=32)  # "emails", "phoneNumbers", ...
    position = models.PositiveSmallIntegerField(default=0)
    type = models.CharField(max_length=64, blank=True, default="")
    value = models.TextField(blank=True, default="")
    value_lower = models.TextField(blank=True, default="", editable=False)
    value_digest = models.CharField(max_length=32, blank=True, default="", editable=False)
    display = models.CharField(max_length=255, blank=True, default="")
    # None: the client did not say; False is a value of its own (RFC 7643 section 2.3.2).
    primary = models.BooleanField(null=True, blank=True, default=None)
    # Sub-attributes beyond value/type/display/primary (addresses' streetAddress ...).
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["user_id", "attribute", "position"]
        indexes = [
            models.Index(
                fields=["organization", "attribute", "value_digest"], name="axon_scim_value_digest"
            ),
            models.Index(fields=["user", "attribute", "position"], name="axon_scim_value_user"),
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {self.value}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.derive_lookup_columns()
        super().save(*args, **kwargs)

    def derive_lookup_columns(self) -> None:
        """Set ``value_lower`` and ``value_digest`` from ``value``; ``bulk_create`` needs a call."""
        self.value_lower = self.value.lower()
        self.value_digest = value_digest(self.value)

    @staticmethod
    def max_value_length(attribute: str) -> int:
        """The longest ``value`` that ``attribute`` (``"emails"`` ...) keeps, in characters."""
        return VALUE_MAX_LENGTHS.get(attribute, DEFAULT_VALUE_MAX_LENGTH)


class Role(models.Model):
    """A named set of object permissions on the organization, that a group mapping may grant.

    The permissions are guardian object permissions on the ``Organization``
    row (``assign_perm(codename, account, organization)``), so a portal checks
    them with ``account.has_perm("axon_scim.<codename>", organization)``.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True, default="")
    permissions = models.ManyToManyField(Permission, blank=True, related_name="+")
    created = models.DateTimeField(default=now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="axon_scim_role_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ScimGroup(TenantModel):
    """A SCIM Group of one organization; members are ``ScimMembership`` rows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    display_name = models.CharField(max_length=255)
    display_name_lower = models.CharField(max_length=255, editable=False)
    # NULL, not "", is "no externalId": the IdP may send an empty one and they must differ.
    external_id = models.CharField(max_length=255, blank=True, null=True)  # noqa: DJ001
    # The portal role that membership grants (the group-to-role mapping).
    role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.PROTECT, related_name="groups"
    )
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(default=now)
    last_modified = models.DateTimeField(default=now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "display_name_lower"], name="axon_scim_group_name_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "external_id"], name="axon_scim_group_ext_id"),
            models.Index(fields=["organization", "created", "id"], name="axon_scim_group_created"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.display_name_lower = self.display_name.lower()
        super().save(*args, **kwargs)


class ScimMembership(TenantModel):
    """One member of a group: a user, or (nested) another group of the same organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ScimGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        ScimUser, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    member_group = models.ForeignKey(
        ScimGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="parent_links"
    )
    created = models.DateTimeField(default=now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "group", "user"], name="axon_scim_member_user_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "group", "member_group"],
                name="axon_scim_member_group_unique",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, member_group__isnull=True)
                    | models.Q(user__isnull=True, member_group__isnull=False)
                ),
                name="axon_scim_member_one_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "user"], name="axon_scim_member_by_user"),
        ]

    def __str__(self) -> str:
        return f"{self.group_id} <- {self.user_id or self.member_group_id}"


class RoleAssignment(TenantModel):
    """One reason a portal account holds a role: a mapped SCIM group, or a grant by hand.

    ``group`` set: granted because the account's SCIM user is a member of that
    mapped group; SCIM adds and removes these. ``group`` null: granted by hand
    in the portal; SCIM never touches these. The account holds the role's
    permissions while at least one assignment remains.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_role_assignments"
    )
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="assignments")
    group = models.ForeignKey(
        ScimGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments"
    )
    created = models.DateTimeField(default=now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "role", "group"],
                name="axon_scim_assignment_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "account", "role"],
                condition=models.Q(group__isnull=True),
                name="axon_scim_assignment_manual_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "role", "group"], name="axon_scim_assignment_role"
            ),
        ]

    def __str__(self) -> str:
        source = f"group {self.group_id}" if self.group_id else "by hand"
        return f"{self.account_id} holds {self.role_id} ({source})"

    @property
    def is_manual(self) -> bool:
        return self.group_id is None


class ManagedPermission(TenantModel):
    """An object permission on the organization that roles granted, and so may take back.

    A permission the account already held, granted some other way, has no
    such row: roles never revoke it.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    permission = models.ForeignKey(Permission, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "permission"], name="axon_scim_managed_perm"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.permission_id}"


class ScimTokenQuerySet(TenantQuerySet):
    def usable(self) -> ScimTokenQuerySet:
        """Tokens that are neither revoked nor expired."""
        moment = now()
        return self.filter(revoked__isnull=True).filter(
            models.Q(expires__isnull=True) | models.Q(expires__gt=moment)
        )


class ScimToken(TenantModel):
    """A bearer token of one organization; only a SHA-256 hash of the secret is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=200, blank=True, default="")
    # The first characters of the secret, shown in lists so admins can tell tokens apart.
    prefix = models.CharField(max_length=32)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=now)
    last_used = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    objects = ScimTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.label})" if self.label else f"{self.prefix}…"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def is_expired(self) -> bool:
        return self.expires is not None and self.expires <= now()

    def is_usable(self) -> bool:
        return self.revoked is None and not self.is_expired()


__all__ = [
    "DEFAULT_VALUE_MAX_LENGTH",
    "VALUE_MAX_LENGTHS",
    "AuditChain",
    "AuditEvent",
    "CustomAttribute",
    "ManagedPermission",
    "Organization",
    "Role",
    "RoleAssignment",
    "ScimExtensionValue",
    "ScimGroup",
    "ScimMembership",
    "ScimRequestFailure",
    "ScimToken",
    "ScimUser",
    "ScimUserValue",
    "value_digest",
]

# The audit log's and custom attributes' models live in modules of their own;
# importing them here registers them with the app.
from .audit_models import AuditChain, AuditEvent, ScimRequestFailure  # noqa: E402
from .extension_models import CustomAttribute, ScimExtensionValue  # noqa: E402
