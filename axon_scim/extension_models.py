"""The models of custom attributes: their values, and each organization's own declarations.

Imported by ``axon_scim.models`` (Django finds models there); kept apart so
that module stays readable. Host-declared schemas live in settings, not here.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from .models import Organization, ScimGroup, ScimUser, TenantQuerySet, value_digest
from .tenant_rows import TenantModel

# The types of RFC 7643 section 2.3 a custom attribute may have (complex only from settings).
ATTRIBUTE_TYPES = ("string", "boolean", "integer", "decimal", "dateTime", "reference")
# The resource types an organization's own attribute may extend (each has its own schema URN).
RESOURCE_TYPES = ("User", "Group")


class ScimExtensionValue(TenantModel):
    """One value of a custom (extension) attribute of a user or a group.

    ``key`` is ``<schema URN>:<attribute>`` or ``...:<attribute>.<sub>``;
    ``position`` numbers the values of a multi-valued attribute (all the
    sub-attributes of one complex value share it). The value sits in the
    column of its type, so that filters compare it through an index: text
    by ``value_digest`` (as ``ScimUserValue`` does), numbers and dateTimes
    by their own columns.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        ScimUser, null=True, blank=True, on_delete=models.CASCADE, related_name="extension_values"
    )
    group = models.ForeignKey(
        ScimGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="extension_values"
    )
    key = models.CharField(max_length=300)
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField(blank=True, default="")
    text_lower = models.TextField(blank=True, default="", editable=False)
    value_digest = models.CharField(max_length=32, blank=True, default="", editable=False)
    number = models.DecimalField(max_digits=40, decimal_places=12, null=True, blank=True)
    boolean = models.BooleanField(null=True, blank=True)
    moment = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["key", "position"]
        indexes = [
            models.Index(
                fields=["organization", "key", "value_digest"], name="axon_scim_ext_digest"
            ),
            models.Index(fields=["organization", "key", "number"], name="axon_scim_ext_number"),
            models.Index(fields=["organization", "key", "moment"], name="axon_scim_ext_moment"),
            models.Index(fields=["user", "key", "position"], name="axon_scim_ext_user"),
            models.Index(fields=["group", "key", "position"], name="axon_scim_ext_group"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="axon_scim_ext_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key}[{self.position}]"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.derive_lookup_columns()
        super().save(*args, **kwargs)

    def derive_lookup_columns(self) -> None:
        """Set ``text_lower`` and ``value_digest`` from ``text``; ``bulk_create`` needs a call."""
        self.text_lower = self.text.lower()
        self.value_digest = value_digest(self.text) if self.text else ""


class CustomAttribute(TenantModel):
    """An attribute one organization declares for its own User or Group extension schema
    (portal or admin)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="custom_attributes"
    )
    resource_type = models.CharField(
        max_length=8, choices=[(t, t) for t in RESOURCE_TYPES], default="User"
    )
    name = models.CharField(max_length=64)
    # Attribute names are case-insensitive (RFC 7643 section 2.1): unique in this spelling.
    name_lower = models.CharField(max_length=64, editable=False)
    type = models.CharField(
        max_length=16, choices=[(t, t) for t in ATTRIBUTE_TYPES], default="string"
    )
    multi_valued = models.BooleanField(default=False)
    case_exact = models.BooleanField(default=False)
    description = models.CharField(max_length=255, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["organization_id", "resource_type", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "resource_type", "name_lower"],
                name="axon_scim_custom_attribute_type_name",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_lower = self.name.lower()
        super().save(*args, **kwargs)


__all__ = ["ATTRIBUTE_TYPES", "RESOURCE_TYPES", "CustomAttribute", "ScimExtensionValue"]
