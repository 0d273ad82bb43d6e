"""SCIM bearer tokens: hashed lookup, constant-time compare, the token's organization."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.utils.timezone import now
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from .models import Organization, ScimToken
from .protocol.errors import UnauthorizedError
from .reads import token_by_hash

# The request attribute that names a token refused as revoked or expired (request_failures).
REFUSED_TOKEN = "axon_scim_refused_token"

# last_used is refreshed at most this often, so a busy token costs no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class ScimPrincipal:
    """The caller of a SCIM endpoint: an organization, through one of its tokens."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, token: ScimToken) -> None:
        self.token = token
        self.organization: Organization = token.organization

    def __str__(self) -> str:
        return f"SCIM token {self.token.prefix} of {self.organization.slug}"


class ScimTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <secret>``, looked up by the secret's SHA-256 hash."""

    def authenticate(self, request: Request) -> tuple[ScimPrincipal, ScimToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise UnauthorizedError("The Authorization header must be 'Bearer <token>'.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise UnauthorizedError("The bearer token is not valid.") from None
        digest = ScimToken.hash_secret(secret)
        token = token_by_hash(digest)
        # The lookup is by hash, so timing reveals nothing of the secret; the
        # compare is constant-time all the same.
        if token is None or not hmac.compare_digest(token.secret_hash, digest):
            raise UnauthorizedError("The bearer token is not valid.")
        if not token.is_usable():
            # Recorded as the token's failure: its IdP is still sending it.
            setattr(request, REFUSED_TOKEN, token)
            raise UnauthorizedError("The bearer token has been revoked or has expired.")
        self._touch(token)
        return ScimPrincipal(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="SCIM"'

    @staticmethod
    def _touch(token: ScimToken) -> None:
        moment = now()
        if token.last_used is None or moment - token.last_used > LAST_USED_RESOLUTION:
            ScimToken.objects.filter(pk=token.pk).update(last_used=moment)
            token.last_used = moment
