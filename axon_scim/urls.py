"""URLs of the SCIM service provider; include them at ``scim/v2/``.

path("scim/v2/", include("axon_scim.urls")),
"""

from django.urls import path, re_path

from . import views

app_name = "axon_scim"

urlpatterns = [
    path("", views.NotFoundView.as_view(), name="root"),
    re_path(
        r"^ServiceProviderConfigs?/?$",
        views.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(r"^Schemas/?$", views.SchemaListView.as_view(), name="schemas"),
    re_path(r"^Schemas/(?P<schema_id>[^/]+)/?$", views.SchemaDetailView.as_view(), name="schema"),
    re_path(r"^ResourceTypes/?$", views.ResourceTypeListView.as_view(), name="resource-types"),
    re_path(
        r"^ResourceTypes/(?P<name>[^/]+)/?$",
        views.ResourceTypeDetailView.as_view(),
        name="resource-type",
    ),
    re_path(r"^Users/?$", views.UserListView.as_view(), name="users"),
    re_path(r"^Users/\.search/?$", views.UserSearchView.as_view(), name="users-search"),
    re_path(r"^Users/(?P<pk>[^/]+)/?$", views.UserDetailView.as_view(), name="user"),
    re_path(r"^Groups/?$", views.GroupListView.as_view(), name="groups"),
    re_path(r"^Groups/\.search/?$", views.GroupSearchView.as_view(), name="groups-search"),
    re_path(r"^Groups/(?P<pk>[^/]+)/?$", views.GroupDetailView.as_view(), name="group"),
    re_path(r"^\.search/?$", views.RootSearchView.as_view(), name="search"),
    re_path(r"^Bulk/?$", views.BulkView.as_view(), name="bulk"),
    # Any character, newlines (%0A) included: never Django's HTML 404 under the SCIM root.
    re_path(r"^[\s\S]*$", views.NotFoundView.as_view()),
]
