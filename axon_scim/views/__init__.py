"""Thin DRF views for ``/scim/v2``: authenticate, parse, call a service, render.

The package is laid out as DRF lays out its own modules:

- ``base``: ``ScimView``, the base of every endpoint, with its whole DRF policy;
- ``negotiation``, ``parsers``, ``renderers``: the wire format;
- ``errors``: the exception handler (RFC 7644 section 3.12 bodies);
- ``discovery``: ServiceProviderConfig, Schemas, ResourceTypes and the SCIM 404;
- ``resources``: ``ResourceView`` and the Users and Groups endpoints;
- ``search``: the POST ``.search`` endpoints;
- ``bulk``: POST /Bulk, each operation run as the request alone (``bodies``
  reads the write bodies for both).

Tenant scoping happens in ``UserResourceView.get_queryset()`` and
``GroupResourceView.get_queryset()``, the only places SCIM reads start from.
"""

from .base import ScimView
from .bulk import BulkView
from .discovery import (
    DiscoveryView,
    NotFoundView,
    ResourceTypeDetailView,
    ResourceTypeListView,
    SchemaDetailView,
    SchemaListView,
    ServiceProviderConfigView,
)
from .errors import scim_exception_handler
from .negotiation import ScimContentNegotiation
from .parsers import ScimParser
from .renderers import PlainJsonRenderer, ScimRenderer
from .resources import (
    GroupDetailView,
    GroupListView,
    GroupResourceView,
    ResourceView,
    UserDetailView,
    UserListView,
    UserResourceView,
)
from .search import GroupSearchView, RootSearchView, UserSearchView

__all__ = [
    "BulkView",
    "DiscoveryView",
    "GroupDetailView",
    "GroupListView",
    "GroupResourceView",
    "GroupSearchView",
    "NotFoundView",
    "PlainJsonRenderer",
    "ResourceTypeDetailView",
    "ResourceTypeListView",
    "ResourceView",
    "RootSearchView",
    "SchemaDetailView",
    "SchemaListView",
    "ScimContentNegotiation",
    "ScimParser",
    "ScimRenderer",
    "ScimView",
    "ServiceProviderConfigView",
    "UserDetailView",
    "UserListView",
    "UserResourceView",
    "UserSearchView",
    "scim_exception_handler",
]
