"""Permission classes of the SCIM and portal APIs: one rule per class, checked in order.

A SCIM request passes when its bearer token is a valid token of an
organization (``HasScimToken``); the token alone decides the organization.

A portal request passes when a portal user is signed in through the session
(``IsAuthenticated`` with ``SessionAuthentication`` on the views), the
session names an organization (``HasSessionOrganization``) and the user holds
``sso:configure`` on it (``CanConfigureSso``). The organization comes from the
session through the adapter only, never from a header, a query parameter or a
body, so nothing a client sends can point the API at another organization.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from .adapter import get_adapter
from .authentication import ScimPrincipal
from .models import Organization

__all__ = [
    "CONFIGURE_SSO",
    "CanConfigureSso",
    "HasScimToken",
    "HasSessionOrganization",
    "configurable_organizations",
    "session_organization",
]

# The codename behind the product permission ``sso:configure`` (guardian splits on ".").
CONFIGURE_SSO = "axon_scim.configure_sso"

_CACHE_ATTRIBUTE = "_axon_scim_session_organization"


def session_organization(request: Request) -> Organization | None:
    """The organization the portal session acts for, looked up once per request.

    Security-critical: this is the only place the portal API learns its
    organization, and it asks the adapter, which reads the session alone.
    """
    if not hasattr(request, _CACHE_ATTRIBUTE):
        setattr(request, _CACHE_ATTRIBUTE, get_adapter().session_organization(request))
    organization: Organization | None = getattr(request, _CACHE_ATTRIBUTE)
    return organization


def configurable_organizations(user: Any) -> QuerySet[Organization]:
    """The organizations on which ``user`` holds ``sso:configure``, as ``CanConfigureSso`` sees it.

    Guardian's object permissions (of the user and of the user's groups); every
    organization for an active superuser, who passes ``has_perm`` anyway. The
    model-wide permission counts for nothing, as in the gate.
    """
    from guardian.shortcuts import get_objects_for_user

    if not user.is_active:
        return Organization.objects.none()
    organizations: QuerySet[Organization] = get_objects_for_user(
        user, CONFIGURE_SSO, Organization, accept_global_perms=False
    )
    return organizations


class HasSessionOrganization(BasePermission):
    """The portal session acts for an organization."""

    message = "No organization is selected for this session."

    def has_permission(self, request: Request, view: Any) -> bool:
        return session_organization(request) is not None


class CanConfigureSso(BasePermission):
    """The user holds ``sso:configure`` on the session's organization."""

    message = "You need the sso:configure permission on this organization."

    def has_permission(self, request: Request, view: Any) -> bool:
        organization = session_organization(request)
        return organization is not None and bool(request.user.has_perm(CONFIGURE_SSO, organization))


class HasScimToken(BasePermission):
    """The request carries a valid bearer token of an organization."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, ScimPrincipal)
