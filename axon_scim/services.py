"""Every change to SCIM state, as one verb-named function per change.

Each function takes the organization and the actor, runs in one
transaction, writes its audit event in that same transaction and sends its
signal after commit. Views and commands call these; nothing else writes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from .conf import scim_settings
from .models import AuditEvent, Organization, ScimToken


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from where: a SCIM token or a portal user."""

    token: ScimToken | None = None
    user: Any = None  # an AUTH_USER_MODEL instance
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    label: str = field(default="")

    @property
    def display(self) -> str:
        if self.label:
            return self.label
        if self.token is not None:
            return f"token {self.token.prefix}"
        if self.user is not None:
            return f"user {self.user.get_username()}"
        return "system"


SYSTEM = Actor(label="system")


def record_event(
    organization: Organization,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object = "",
    *,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Write one audit event; call it inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        organization=organization,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        actor_token=actor.token,
        actor_user=actor.user,
        actor_label=actor.display,
        before=before,
        after=after,
        request_id=actor.request_id[:64],
        ip=actor.ip,
        user_agent=actor.user_agent[:512],
    )


def _token_summary(token: ScimToken) -> dict[str, Any]:
    return {
        "label": token.label,
        "prefix": token.prefix,
        "expires": token.expires.isoformat() if token.expires else None,
        "revoked": token.revoked.isoformat() if token.revoked else None,
    }


def issue_token(
    organization: Organization,
    actor: Actor = SYSTEM,
    *,
    label: str = "",
    expires: datetime | None = None,
) -> tuple[ScimToken, str]:
    """Create a bearer token and return it with its secret, which is never stored."""
    secret = scim_settings.TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ScimToken.objects.create(
            organization=organization,
            label=label,
            prefix=secret[: len(scim_settings.TOKEN_PREFIX) + 6],
            secret_hash=ScimToken.hash_secret(secret),
            created_by=actor.user,
            expires=expires,
        )
        record_event(organization, actor, "token.created", "Token", token.pk,
                     after=_token_summary(token))
    return token, secret


def revoke_token(token: ScimToken, actor: Actor = SYSTEM) -> ScimToken:
    """Revoke a token; requests presenting it fail from the next one on."""
    from django.utils.timezone import now

    with transaction.atomic():
        token = ScimToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked is None:
            before = _token_summary(token)
            token.revoked = now()
            token.save(update_fields=["revoked"])
            record_event(token.organization, actor, "token.revoked", "Token", token.pk,
                         before=before, after=_token_summary(token))
    return token
