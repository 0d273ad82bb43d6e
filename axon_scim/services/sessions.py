"""Portal sessions: an admin of several organizations selects the one the session acts for."""

from __future__ import annotations

from typing import Any

from ..adapter import get_adapter
from ..audit import Actor, audited, record_event
from ..models import Organization

__all__ = ["select_organization"]


def select_organization(organization: Organization, actor: Actor, request: Any) -> None:
    """Make the portal session of ``request`` act for ``organization``, audited in it.

    The caller has checked that the actor holds ``sso:configure`` there. The
    session itself is written by the adapter (``select_session_organization``),
    so a host that keeps its current organization elsewhere is followed.
    """
    with audited(organization):
        get_adapter().select_session_organization(request, organization)
        record_event(
            organization,
            actor,
            "organization.selected",
            "Organization",
            organization.pk,
            after={"organization": organization.slug},
        )
