"""django-scim2's own URLs at the same path as axon-scim's."""

from django.urls import include, path

urlpatterns = [path("scim/v2/", include("django_scim.urls", namespace="scim"))]
