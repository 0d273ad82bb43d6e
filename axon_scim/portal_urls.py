"""URLs of the portal API; include them at ``api/v1/scim/``.

from django.urls import include, path

path("api/v1/scim/", include("axon_scim.portal_urls")),
"""

from django.urls import path

from . import portal_api

app_name = "axon_scim_portal"

urlpatterns = [
    path(
        "organizations",
        portal_api.OrganizationListView.as_view(),
        name="organizations",
    ),
    path(
        "session-organization",
        portal_api.SessionOrganizationView.as_view(),
        name="session-organization",
    ),
    path("roles", portal_api.RoleListView.as_view(), name="roles"),
    path(
        "groups/role-mappings",
        portal_api.GroupRoleMappingListView.as_view(),
        name="role-mappings",
    ),
    path(
        "groups/<str:group_id>/role-mapping",
        portal_api.GroupRoleMappingView.as_view(),
        name="role-mapping",
    ),
    path("tokens", portal_api.TokenListView.as_view(), name="tokens"),
    path("tokens/<str:token_id>", portal_api.TokenDetailView.as_view(), name="token"),
    path("audit-events", portal_api.AuditEventListView.as_view(), name="audit-events"),
    path("access-review", portal_api.AccessReviewView.as_view(), name="access-review"),
    path("schema", portal_api.PortalSchemaView.as_view(), name="schema"),
    path(
        "custom-attributes",
        portal_api.CustomAttributeListView.as_view(),
        name="custom-attributes",
    ),
    path(
        "custom-attributes/<str:attribute_id>",
        portal_api.CustomAttributeDetailView.as_view(),
        name="custom-attribute",
    ),
]
