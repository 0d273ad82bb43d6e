"""portal_demo's URLs plus the floor views under ``/floor/``."""

from django.urls import include, path

from bench import floor
from portal_demo.urls import urlpatterns as portal_urls

urlpatterns = [
    path("floor/", include(floor.urlpatterns)),
    *portal_urls,
]
