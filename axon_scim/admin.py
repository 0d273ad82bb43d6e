"""The Django admin of axon_scim: organizations, tokens, group mappings, roles and the audit log.

Every change made here goes through the services, exactly as the portal API
does, so it is audited and its effects (a mapping granting a role to every
member, a revoked token failing on its next request) cannot be skipped. What
SCIM owns (users, groups and their members) and the audit log are read-only.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.timezone import localtime, now
from guardian.admin import GuardedModelAdmin

from . import services
from .admin_activity import OrganizationActivityMixin
from .audit import request_actor
from .models import (
    AuditEvent,
    Organization,
    Role,
    RoleAssignment,
    ScimGroup,
    ScimToken,
    ScimUser,
)
from .tenancy import AcrossOrganizationsAdmin


def admin_actor(request: HttpRequest) -> services.Actor:
    """The signed-in admin user as the actor of a change, with where the request came from."""
    return request_actor(request, user=request.user)


def adopt(target: models.Model, saved: models.Model) -> None:
    """Make the admin's unsaved form instance stand for the row a service wrote.

    The admin redirects to, and logs, the object it passed to ``save_model``;
    the service created a different instance, so its values are copied over.
    """
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


class ReadOnlyAdminMixin:
    """Rows that may be looked at in the admin but never added, changed or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(OrganizationActivityMixin, GuardedModelAdmin):
    """Organizations; the "Object permissions" page grants ``configure_sso`` (sso:configure).

    Each has a "SCIM activity" page (``admin_activity``), linked from the list and its page.
    """

    list_display = ("slug", "name", "created", "activity_link")
    # Guardian's page with an "SCIM activity" link; guardian and django-stubs type it apart.
    change_form_template = "admin/axon_scim/organization/change_form.html"  # type: ignore[misc]
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}


# --- Tokens ------------------------------------------------------------------


class ScimTokenAddForm(forms.ModelForm):
    """The only token form: which organization, a label and an optional expiry."""

    class Meta:
        model = ScimToken
        fields = ("organization", "label", "expires")

    def clean_expires(self) -> Any:
        expires = self.cleaned_data.get("expires")
        if expires is not None and expires <= now():
            raise forms.ValidationError("The expiry must be in the future.")
        return expires


TOKEN_FIELDS = (
    "organization",
    "label",
    "prefix",
    "created",
    "created_by",
    "last_used",
    "expires",
    "revoked",
)


@admin.register(ScimToken)
class ScimTokenAdmin(AcrossOrganizationsAdmin, admin.ModelAdmin):
    """SCIM tokens: created through ``issue_token`` (secret shown once), revoked, never edited."""

    # The secret hash is never shown: it would let anyone who reads the page
    # test guessed secrets offline.
    list_display = TOKEN_FIELDS
    list_filter = ("organization", ("revoked", admin.EmptyFieldListFilter))
    list_select_related = ("organization", "created_by")
    search_fields = ("label", "prefix")
    exclude = ("secret_hash",)
    form = ScimTokenAddForm
    actions = ("revoke_tokens",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ScimTokenAddForm.Meta.fields if obj is None else (*TOKEN_FIELDS, "throttling")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else (*TOKEN_FIELDS, "throttling")

    @admin.display(description="rate limit")
    def throttling(self, obj: ScimToken) -> str:
        """How often the token went over ``AXON_SCIM["RATE_LIMIT"]``, from the audit log.

        ``axon_scim.throttling`` records one ``token.throttled`` event for a
        token's first 429 and at most one per window after it.
        """
        events = AuditEvent.objects.for_tenant(obj.organization_id).filter(
            action="token.throttled", resource_type="Token", resource_id=str(obj.pk)
        )
        summary = events.aggregate(count=Count("id"), last=Max("time"))
        if not summary["count"]:
            return "never throttled"
        query = urlencode({"action": "token.throttled", "resource_id": str(obj.pk)})
        return format_html(
            'throttled in {} window{}, the last at {} (<a href="{}?{}">audit log</a>)',
            summary["count"],
            pluralize(summary["count"]),
            localtime(summary["last"]).strftime("%Y-%m-%d %H:%M:%S %Z"),
            reverse("admin:axon_scim_auditevent_changelist"),
            query,
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Revoke instead: a deleted token would vanish from the audit trail's actors.
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("axon_scim.change_scimtoken")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        token, secret = services.issue_token(
            obj.organization, admin_actor(request), label=obj.label, expires=obj.expires
        )
        adopt(obj, token)
        # The only time the secret exists outside the IdP: it is not stored,
        # and this message is consumed by the next page that displays it.
        self.message_user(
            request,
            f"Copy the secret of token {token.prefix} now; it will not be shown again: {secret}",
            messages.SUCCESS,
        )

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ScimToken]) -> None:
        """Revoke each selected token through the service, so each revocation is audited."""
        actor = admin_actor(request)
        revoked = 0
        for token in queryset.filter(revoked__isnull=True).select_related("organization"):
            services.revoke_token(token, actor)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


# --- Groups and roles ----------------------------------------------------------

GROUP_FIELDS = (
    "id",
    "organization",
    "display_name",
    "external_id",
    "role",
    "member_count",
    "version",
    "created",
    "last_modified",
)


@admin.register(ScimGroup)
class ScimGroupAdmin(AcrossOrganizationsAdmin, admin.ModelAdmin):
    """SCIM groups, owned by the IdP; only the group-to-role mapping is changed here."""

    list_display = ("display_name", "organization", "role", "member_count", "last_modified")
    list_filter = ("organization", ("role", admin.EmptyFieldListFilter))
    list_select_related = ("organization", "role")
    search_fields = ("display_name", "external_id")
    fields = GROUP_FIELDS
    readonly_fields = tuple(name for name in GROUP_FIELDS if name != "role")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScimGroup]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Any) -> int:
        return int(obj.member_count)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "role" in form.base_fields:
            # A group may only be mapped to a role of its own organization.
            role_field = form.base_fields["role"]
            role_field.queryset = Role.objects.for_tenant(obj.organization_id)  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The service grants and revokes the members' roles and audits the
        # change in one transaction; saving the row directly would skip both.
        if change and "role" in form.changed_data:
            services.set_group_role(obj.organization, admin_actor(request), obj.pk, obj.role_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Role)
class RoleAdmin(AcrossOrganizationsAdmin, admin.ModelAdmin):
    """Roles: named sets of permissions on the organization that a group mapping may grant."""

    list_display = ("name", "organization", "description", "permission_names")
    list_filter = ("organization",)
    list_select_related = ("organization",)
    search_fields = ("name", "description")
    fields = ("organization", "name", "description", "permissions")
    filter_horizontal = ("permissions",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).prefetch_related("permissions")

    @admin.display(description="permissions")
    def permission_names(self, obj: Role) -> str:
        return ", ".join(sorted(permission.codename for permission in obj.permissions.all()))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Through the service, so the change is audited and holders get the new permissions.
        role = services.save_role(
            obj.organization,
            admin_actor(request),
            obj if change else None,
            name=form.cleaned_data["name"],
            description=form.cleaned_data.get("description") or "",
            permissions=form.cleaned_data["permissions"],
        )
        obj.pk = role.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing left to save: ``save_role`` set the permissions."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Moving a role to another organization would let one tenant's groups grant it.
        return ("organization",) if obj is not None else ()

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField | None:
        if db_field.name == "permissions":
            # Roles are carried out as object permissions on the organization.
            content_type = ContentType.objects.get_for_model(Organization)
            kwargs["queryset"] = Permission.objects.filter(content_type=content_type)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a role someone holds would drop its assignments without
        # taking back the permissions they carry; clear mappings and grants first.
        org = obj.organization_id if obj is not None else None  # the role's rows: one shard
        if obj is not None and (
            obj.groups.filter(organization_id=org).exists()
            or obj.assignments.filter(organization_id=org).exists()
        ):
            return False
        return super().has_delete_permission(request, obj)


class RoleGrantForm(forms.ModelForm):
    """A role granted by hand to a portal account."""

    class Meta:
        model = RoleAssignment
        fields = ("organization", "account", "role")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        organization, account, role = (
            data.get("organization"),
            data.get("account"),
            data.get("role"),
        )
        if organization is None or role is None:
            return data
        if role.organization_id != organization.pk:
            self.add_error("role", "This role belongs to another organization.")
        elif (
            account is not None
            and RoleAssignment.objects.for_tenant(organization)
            .filter(account=account, role=role, group__isnull=True)
            .exists()
        ):
            self.add_error(None, "This account already holds this role by hand.")
        return data


ASSIGNMENT_FIELDS = ("organization", "account", "role", "group", "created")


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(AcrossOrganizationsAdmin, admin.ModelAdmin):
    """Who holds which role and why; grants by hand are added and removed through the services."""

    list_display = ("account", "role", "organization", "source", "created")
    list_filter = ("organization", ("group", admin.EmptyFieldListFilter))
    list_select_related = ("account", "role", "group", "organization")
    raw_id_fields = ("account",)
    form = RoleGrantForm

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return [
            f"account__{get_user_model().USERNAME_FIELD}",
            "role__name",
            "group__display_name",
        ]

    @admin.display(description="granted by")
    def source(self, obj: RoleAssignment) -> str:
        return f"group {obj.group.display_name}" if obj.group is not None else "by hand"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return RoleGrantForm.Meta.fields if obj is None else ASSIGNMENT_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ASSIGNMENT_FIELDS

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Group grants follow SCIM memberships and mappings; only hand grants are removed here.
        if obj is not None and not obj.is_manual:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.grant_role(obj.organization, admin_actor(request), obj.account, obj.role)
        granted = RoleAssignment.objects.for_tenant(obj.organization).get(
            account=obj.account, role=obj.role, group__isnull=True
        )
        adopt(obj, granted)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.revoke_role(obj.organization, admin_actor(request), obj.account, obj.role)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RoleAssignment]) -> None:
        actor = admin_actor(request)
        manual = queryset.filter(group__isnull=True).select_related(
            "organization", "account", "role"
        )
        for assignment in manual:
            services.revoke_role(
                assignment.organization, actor, assignment.account, assignment.role
            )


# --- Read-only: the audit log and SCIM users -----------------------------------


def pretty_json(value: Any) -> SafeString:
    """A JSON value indented in a <pre> block, escaped."""
    if value is None:
        return format_html("{}", "-")
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


@admin.register(AuditEvent)
class AuditEventAdmin(AcrossOrganizationsAdmin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only audit log: nobody adds, changes or deletes events, not even a superuser."""

    list_display = (
        "time",
        "organization",
        "action",
        "resource_type",
        "resource_id",
        "actor_label",
        "ip",
        "request_id",
        "sequence",
    )
    list_filter = ("organization", "action", "resource_type", "time")
    list_select_related = ("organization",)
    search_fields = ("resource_id", "actor_label", "request_id")
    ordering = ("-time", "-id")
    # The log only grows: skip counting the whole table on every filtered page.
    show_full_result_count = False
    fields = (
        "time",
        "organization",
        "action",
        "resource_type",
        "resource_id",
        "actor_label",
        "actor_token",
        "actor_user",
        "request_id",
        "ip",
        "user_agent",
        "before_json",
        "after_json",
        "sequence",
        "previous_hash",
        "hash",
    )
    readonly_fields = fields

    @admin.display(description="before")
    def before_json(self, obj: AuditEvent) -> SafeString:
        return pretty_json(obj.before)

    @admin.display(description="after")
    def after_json(self, obj: AuditEvent) -> SafeString:
        return pretty_json(obj.after)


@admin.register(ScimUser)
class ScimUserAdmin(AcrossOrganizationsAdmin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """SCIM users, owned by the IdP: changes come through SCIM only."""

    list_display = ("user_name", "display_name", "organization", "active", "account")
    list_filter = ("organization", "active")
    list_select_related = ("organization", "account")
    search_fields = ("user_name", "display_name", "external_id")
    ordering = ("organization__slug", "user_name_lower")


# Registered from its own module; imported here so that autodiscovery finds it.
from . import admin_custom_attributes  # noqa: E402, F401
