"""Bearer tokens: issuing one (its secret shown once, only its hash stored) and revoking it."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.utils.timezone import now

from ..audit import SYSTEM, Actor, audited, record_event
from ..conf import scim_settings
from ..models import Organization, ScimToken

__all__ = ["issue_token", "revoke_token"]


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
    with audited(organization):
        token = ScimToken.objects.create(
            organization=organization,
            label=label,
            prefix=secret[: len(scim_settings.TOKEN_PREFIX) + 6],
            secret_hash=ScimToken.hash_secret(secret),
            created_by=actor.user,
            expires=expires,
        )
        record_event(
            organization, actor, "token.created", "Token", token.pk, after=_token_summary(token)
        )
    return token, secret


def revoke_token(token: ScimToken, actor: Actor = SYSTEM) -> ScimToken:
    """Revoke a token; requests presenting it fail from the next one on.

    Locks: the token row only, FOR NO KEY UPDATE, so the audit events of
    requests still running with the token (which refer to it) never wait for
    the revocation; revoking a revoked token records nothing.
    """
    with audited(token.organization):
        token = ScimToken.objects.select_for_update(no_key=True).get(pk=token.pk)
        if token.revoked is None:
            before = _token_summary(token)
            token.revoked = now()
            token.save(update_fields=["revoked"])
            record_event(
                token.organization,
                actor,
                "token.revoked",
                "Token",
                token.pk,
                before=before,
                after=_token_summary(token),
            )
    return token
