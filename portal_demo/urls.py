"""URLs of the demo portal: the admin, Django's login view and axon_scim."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("scim/v2/", include("axon_scim.urls")),
    path("api/v1/scim/", include("axon_scim.portal_urls")),
]
