"""The portal API under ``/api/v1/scim/``: roles, group-to-role mappings, tokens, audit log.

Thin DRF views for the organization's admins: each authenticates the
portal's session (never a SCIM bearer token), passes the gate of
``permissions`` and works on the organization of the session only. Reads
start from ``PortalView.organization``; writes go through ``services``, which
audit them. Service errors (``ScimError``) answer ``{"detail": ...}`` with
their status, from ``portal_exception_handler``.

- ``policy``: ``PortalView`` and the whole DRF policy it sets (a host's
  ``REST_FRAMEWORK`` defaults change nothing here);
- ``serializers``: the JSON shapes, in and out;
- ``views``: roles, mappings, tokens, the audit log and the access review;
- ``organizations``: the organization list and the session's selection;
- ``custom_attributes``: the organization's own custom attributes;
- ``schema``: ``GET schema``, the OpenAPI document, which ``openapi`` describes
  with drf-spectacular (the ``openapi`` extra; without it, 501).
"""

from .custom_attributes import CustomAttributeDetailView, CustomAttributeListView
from .organizations import OrganizationListView, SessionOrganizationView
from .policy import (
    CsvRenderer,
    PortalContentNegotiation,
    PortalJSONParser,
    PortalJSONRenderer,
    PortalPagination,
    PortalView,
    portal_actor,
    portal_exception_handler,
)
from .schema import PortalSchemaView
from .views import (
    AccessReviewView,
    AuditEventListView,
    GroupRoleMappingListView,
    GroupRoleMappingView,
    RoleListView,
    TokenDetailView,
    TokenListView,
    filter_events,
    role_mappings,
)

__all__ = [
    "AccessReviewView",
    "AuditEventListView",
    "CsvRenderer",
    "CustomAttributeDetailView",
    "CustomAttributeListView",
    "GroupRoleMappingListView",
    "GroupRoleMappingView",
    "OrganizationListView",
    "PortalContentNegotiation",
    "PortalJSONParser",
    "PortalJSONRenderer",
    "PortalPagination",
    "PortalSchemaView",
    "PortalView",
    "RoleListView",
    "SessionOrganizationView",
    "TokenDetailView",
    "TokenListView",
    "filter_events",
    "portal_actor",
    "portal_exception_handler",
    "role_mappings",
]
