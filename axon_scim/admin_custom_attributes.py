"""The Django admin of organizations' custom attributes: declared and deleted through services.

A definition cannot be changed in place (stored values would no longer fit
it): delete it and declare it again. Imported by ``axon_scim.admin``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .admin import admin_actor, adopt
from .extension_models import CustomAttribute
from .tenancy import AcrossOrganizationsAdmin


@admin.register(CustomAttribute)
class CustomAttributeAdmin(AcrossOrganizationsAdmin, admin.ModelAdmin):
    """Each organization's own custom attributes; every change is audited."""

    list_display = (
        "name",
        "organization",
        "resource_type",
        "type",
        "multi_valued",
        "case_exact",
        "created",
    )
    list_filter = ("organization", "resource_type", "type")
    fields = ("organization", "resource_type", "name", "type", "multi_valued", "case_exact")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.fields if obj is not None else ()  # type: ignore[return-value]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        declared = services.declare_custom_attribute(
            obj.organization,
            admin_actor(request),
            name=obj.name,
            type=obj.type,
            multi_valued=obj.multi_valued,
            case_exact=obj.case_exact,
            resource_type=obj.resource_type,
        )
        adopt(obj, declared)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.delete_custom_attribute(obj, admin_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CustomAttribute]) -> None:
        for attribute in queryset.select_related("organization"):
            services.delete_custom_attribute(attribute, admin_actor(request))


__all__ = ["CustomAttributeAdmin"]
