"""The portal API's serializers: snake_case JSON, ISO 8601 times, bounded inputs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import models
from django.utils.timezone import now
from rest_framework import ISO_8601, serializers

from ..models import AuditEvent, Role, ScimGroup, ScimToken

__all__ = [
    "MAX_ID",
    "MAX_TOKEN_DAYS",
    "AuditEventFilterSerializer",
    "AuditEventSerializer",
    "GroupRoleMappingSerializer",
    "IsoDateTimeField",
    "PortalModelSerializer",
    "RoleMappingInputSerializer",
    "RoleRefSerializer",
    "RoleSerializer",
    "TokenCreateSerializer",
    "TokenSerializer",
]

# The largest id a BigAutoField holds.
MAX_ID = 2**63 - 1

# The longest lifetime ``expires_in_days`` may ask for: ten years.
MAX_TOKEN_DAYS = 3650


class IsoDateTimeField(serializers.DateTimeField):
    """ISO 8601 out and in, whatever the host's DATETIME_FORMAT and DATETIME_INPUT_FORMATS."""

    format = ISO_8601
    input_formats = [ISO_8601]


class PortalModelSerializer(serializers.ModelSerializer):
    """A model serializer whose date-times are ``IsoDateTimeField``."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: IsoDateTimeField,
    }


class RoleSerializer(PortalModelSerializer):
    """A role with the codenames of its permissions on the organization."""

    permissions = serializers.SerializerMethodField()

    class Meta:
        model = Role
        fields = ["id", "name", "description", "permissions"]

    def get_permissions(self, role: Role) -> list[str]:
        # Sorted in Python: the prefetched rows are used as they are.
        return sorted(permission.codename for permission in role.permissions.all())


class RoleRefSerializer(PortalModelSerializer):
    """The role a group maps to, by id and name."""

    class Meta:
        model = Role
        fields = ["id", "name"]


class GroupRoleMappingSerializer(PortalModelSerializer):
    """One SCIM group, the role it grants (or null) and its number of direct members."""

    role = RoleRefSerializer(read_only=True, allow_null=True)
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ScimGroup
        fields = ["id", "display_name", "role", "member_count"]


class RoleMappingInputSerializer(serializers.Serializer):
    """The body of a mapping change: ``{"role_id": <id>}`` or ``{"role_id": null}``."""

    # Bounded by the id column (a bigint), so no value can overflow the database.
    role_id = serializers.IntegerField(allow_null=True, min_value=1, max_value=MAX_ID)


class TokenSerializer(PortalModelSerializer):
    """A token as listed: never its secret nor the secret's hash."""

    created_by = serializers.SerializerMethodField()

    class Meta:
        model = ScimToken
        fields = [
            "id",
            "label",
            "prefix",
            "created",
            "created_by",
            "last_used",
            "expires",
            "revoked",
        ]

    def get_created_by(self, token: ScimToken) -> str | None:
        return token.created_by.get_username() if token.created_by is not None else None


class TokenCreateSerializer(serializers.Serializer):
    """The body of a token creation: a label and, optionally, when it expires."""

    # The stubs type Field.label as a str; at run time DRF collects declared fields off the class.
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=200, allow_blank=True, required=False, default=""
    )
    expires = IsoDateTimeField(required=False, allow_null=True, default=None)
    expires_in_days = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_TOKEN_DAYS
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        days = attrs.pop("expires_in_days")
        if days is not None:
            if attrs["expires"] is not None:
                raise serializers.ValidationError("Give expires or expires_in_days, not both.")
            attrs["expires"] = now() + timedelta(days=days)
        elif attrs["expires"] is not None and attrs["expires"] <= now():
            raise serializers.ValidationError({"expires": ["The expiry must be in the future."]})
        return attrs


class AuditEventSerializer(PortalModelSerializer):
    """One audit event; ``before`` and ``after`` were masked when it was written."""

    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "time",
            "action",
            "resource_type",
            "resource_id",
            "actor",
            "before",
            "after",
            "request_id",
            "ip",
            "user_agent",
            "sequence",
            "hash",
        ]

    def get_actor(self, event: AuditEvent) -> dict[str, str]:
        return {"type": event.actor_type, "label": event.actor_label}


class AuditEventFilterSerializer(serializers.Serializer):
    """The query parameters of the audit log; blank ones filter nothing."""

    action = serializers.CharField(required=False, allow_blank=True)
    resource_type = serializers.CharField(required=False, allow_blank=True)
    resource_id = serializers.CharField(required=False, allow_blank=True)
    actor = serializers.CharField(required=False, allow_blank=True)
    since = IsoDateTimeField(required=False)
    until = IsoDateTimeField(required=False)
