"""Every SCIM and portal view sets its own DRF policy: the host's ``REST_FRAMEWORK`` stays out.

DRF copies most of its defaults into class attributes of ``APIView`` (and of
its renderers and parsers) when it is imported: a view that leaves one unset
silently takes the host's value. ``tests/hostile`` runs the flows under a host
that sets every such default; this test keeps each new view honest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

POLICY = (
    "schema",
    "authentication_classes",
    "permission_classes",
    "throttle_classes",
    "versioning_class",
    "content_negotiation_class",
    "parser_classes",
    "renderer_classes",
    "pagination_class",
    "filter_backends",
    "metadata_class",
    "get_exception_handler",
)


def api_views(patterns: list[Any]) -> Iterator[type[APIView]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from api_views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None)
            if view is not None and issubclass(view, APIView):
                yield view


def axon_views() -> list[type[APIView]]:
    views = set(api_views(get_resolver().url_patterns))
    return sorted(
        (view for view in views if view.__module__.startswith("axon_scim.")),
        key=lambda view: view.__qualname__,
    )


def from_drf(cls: type, name: str) -> bool:
    """Whether ``cls`` gets attribute ``name`` from a class of DRF itself."""
    owner = next(klass for klass in cls.__mro__ if name in vars(klass))
    return owner.__module__.startswith("rest_framework")


def test_every_scim_and_portal_view_is_checked():
    names = {view.__name__ for view in axon_views()}
    assert {"UserListView", "GroupDetailView", "ServiceProviderConfigView"} <= names
    assert {"TokenListView", "AuditEventListView", "AccessReviewView"} <= names


@pytest.mark.parametrize("view", axon_views(), ids=lambda view: view.__name__)
def test_the_view_sets_its_whole_policy(view):
    assert [name for name in POLICY if from_drf(view, name)] == []


@pytest.mark.parametrize("view", axon_views(), ids=lambda view: view.__name__)
def test_its_json_renderers_and_parsers_pin_drfs_json_settings(view):
    renderers = [r for r in view.renderer_classes if issubclass(r, JSONRenderer)]
    parsers = [p for p in view.parser_classes if issubclass(p, JSONParser)]
    leaks = [
        (cls.__name__, name)
        for cls, names in [(r, ("ensure_ascii", "compact", "strict")) for r in renderers]
        + [(p, ("strict",)) for p in parsers]
        for name in names
        if from_drf(cls, name)
    ]
    assert renderers
    assert leaks == []
