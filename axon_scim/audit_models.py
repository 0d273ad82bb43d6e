"""The models of the audit log: its events, their per-organization chain, failed requests.

Append-only: events are written in the transaction of the change they record
and never updated (``axon_scim.audit`` writes and verifies them). Importing
``axon_scim.models`` registers these with the app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from .models import Organization, ScimToken, TenantQuerySet
from .tenant_rows import TenantModel

__all__ = ["AuditChain", "AuditEvent", "ScimRequestFailure"]


class AuditEvent(TenantModel):
    """One change, written in the same transaction as the change; never updated."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    time = models.DateTimeField(default=now)
    action = models.CharField(max_length=64)  # "user.created", "group.members_changed" ...
    resource_type = models.CharField(max_length=32)
    resource_id = models.CharField(max_length=64, blank=True, default="")
    actor_token = models.ForeignKey(
        ScimToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "token", "user" or "system"; kept apart from the foreign keys, which are
    # set to NULL if the token or account row is ever deleted.
    actor_type = models.CharField(max_length=16, default="system")
    actor_label = models.CharField(max_length=255, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    # The tamper-evident chain: set when the event is sealed, at the end of the
    # transaction that wrote it (services.audited).
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64, blank=True, default="")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-time", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sequence"], name="axon_scim_audit_sequence"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "time"], name="axon_scim_audit_time"),
            models.Index(
                fields=["organization", "resource_type", "resource_id"],
                name="axon_scim_audit_resource",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.time:%Y-%m-%d %H:%M:%S} {self.action} {self.resource_type}/{self.resource_id}"
        )


class ScimRequestFailure(TenantModel):
    """A SCIM request of a known token that failed (status 400 or more), for the activity page.

    Never the request body, nor the query string: what failed, when, through
    which token, and the error's scimType and (shortened) detail. Written by
    ``request_failures.record_failure``, which keeps the newest rows only.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey(
        ScimToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    time = models.DateTimeField(default=now)
    method = models.CharField(max_length=16)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField()
    scim_type = models.CharField(max_length=32, blank=True, default="")
    detail = models.CharField(max_length=255, blank=True, default="")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["organization", "id"], name="axon_scim_failure_recent")]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.method} {self.path} {self.status}"


class AuditChain(TenantModel):
    """The head of one organization's audit chain; its row lock orders the sealing."""

    organization = models.OneToOneField(
        Organization, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.organization_id}: #{self.sequence}"
