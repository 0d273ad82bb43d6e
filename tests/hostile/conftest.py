"""Fixtures of the hostile host: its versioning schemes, its accounts, a real portal login.

The main suite's fixtures (``org``, ``scim``, ``anonymous_scim`` ...) come
from ``tests/conftest.py`` and work here unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from guardian.shortcuts import assign_perm
from rest_framework.versioning import AcceptHeaderVersioning, NamespaceVersioning
from rest_framework.views import APIView

from axon_scim.models import Organization

PASSWORD = "Korrekt-Pferd-Batterie-Heftklammer"

if settings.SETTINGS_MODULE != "tests.hostile.settings":  # pragma: no cover
    raise pytest.UsageError("Run tests/hostile with --ds=tests.hostile.settings.")


@pytest.fixture(
    params=[AcceptHeaderVersioning, NamespaceVersioning], ids=["accept-header", "namespace"]
)
def host_versioning(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The host's DEFAULT_VERSIONING_CLASS: AcceptHeaderVersioning, then NamespaceVersioning.

    DRF copies the setting into ``APIView.versioning_class`` when it is
    imported, so setting that attribute is what a second settings module would
    do, without a third process.
    """
    monkeypatch.setattr(APIView, "versioning_class", request.param)
    return request.param


@pytest.fixture(autouse=True)
def fresh_throttles() -> None:
    """The host's throttles allow one request a day; each test starts a new day."""
    cache.clear()


@pytest.fixture
def portal_admin(org: Organization) -> Any:
    """An account of the host (email login, UUID key) holding sso:configure on ``org``."""
    account = get_user_model().objects.create_user("ines@acme.example", PASSWORD)
    assign_perm("axon_scim.configure_sso", account, org)
    return account


class PortalSession:
    """A browser session signed in through the host's login form, CSRF checks enforced."""

    def __init__(self, email: str, password: str) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.client.get("/accounts/login/")
        response = self.client.post(
            "/accounts/login/",
            {"username": email, "password": password, "csrfmiddlewaretoken": self._csrf()},
        )
        assert response.status_code == 302, response.content

    def _csrf(self) -> str:
        # Read afresh: Django rotates the token when the user signs in.
        return str(self.client.cookies["csrftoken"].value)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def send(self, method: str, path: str, body: str = "") -> Any:
        call = getattr(self.client, method.lower())
        return call(
            path, body, content_type="application/json", headers={"X-CSRFToken": self._csrf()}
        )


@pytest.fixture
def portal(portal_admin: Any) -> PortalSession:
    return PortalSession(portal_admin.email, PASSWORD)
