"""Failed SCIM requests, kept for the admin's activity page: "is provisioning working?".

The SCIM exception handler calls ``record_failure`` for every error it
answers. A failure is recorded when the request names a token of an
organization: one that authenticated, or one that was refused because it is
revoked or expired (an identity provider still using it is what an admin
needs to see). Requests without a known token are not recorded: they belong
to no organization, and anyone could send them in any number.

What is kept is the method, the path (no query string), the status, the
scimType and the detail (shortened), never the body. 429s are not recorded:
the throttling audits them once per window already (``token.throttled``).
Each organization keeps its newest ``KEPT_PER_ORGANIZATION`` rows, so no
client can grow the table.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, transaction

from .authentication import REFUSED_TOKEN
from .models import ScimRequestFailure, ScimToken
from .protocol.errors import ScimError

__all__ = ["KEPT_PER_ORGANIZATION", "record_failure"]

logger = logging.getLogger(__name__)

# Rows kept per organization; older ones are deleted as new ones come.
KEPT_PER_ORGANIZATION = 1000

_PATH_LENGTH = 255
_DETAIL_LENGTH = 255


def record_failure(request: Any, error: ScimError) -> None:
    """Record that ``request`` failed with ``error``, if it names a token; never raises.

    It runs in a transaction (a savepoint) of its own, after the failed
    change has been rolled back, and gives up quietly when the database
    cannot take it: an error answer must never turn into another one.
    """
    token = _token_of(request)
    if token is None or error.status < 400 or error.status == 429:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block and connection.needs_rollback:
        return  # the host's request transaction is already lost
    try:
        with transaction.atomic():
            ScimRequestFailure.objects.create(
                organization_id=token.organization_id,
                token=token,
                method=str(request.method)[:16],
                path=_shortened(request.path, _PATH_LENGTH),
                status=error.status,
                scim_type=(error.scim_type or "")[:32],
                detail=_shortened(str(error.detail), _DETAIL_LENGTH),
            )
            _keep_newest(token.organization_id)
    except DatabaseError:
        logger.warning("Could not record a failed SCIM request", exc_info=True)


def _token_of(request: Any) -> ScimToken | None:
    """The token that authenticated the request, or the one authentication refused."""
    if request is None:
        return None
    # DRF's private attribute: ``request.auth`` would authenticate a request
    # that failed before it got that far (a 413, say), here in the error handler.
    authenticated = getattr(request, "_auth", None)
    if isinstance(authenticated, ScimToken):
        return authenticated
    refused = getattr(request, REFUSED_TOKEN, None)
    return refused if isinstance(refused, ScimToken) else None


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _keep_newest(organization_id: int) -> None:
    """Delete the organization's failures beyond the newest ``KEPT_PER_ORGANIZATION``."""
    failures = ScimRequestFailure.objects.for_tenant(organization_id)
    ids = failures.order_by("-id").values_list("id", flat=True)
    newest_dropped = ids[KEPT_PER_ORGANIZATION : KEPT_PER_ORGANIZATION + 1].first()
    if newest_dropped is not None:
        failures.filter(id__lte=newest_dropped).delete()
