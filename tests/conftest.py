"""Fixtures shared by the test suite: organizations, tokens and a SCIM client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from axon_scim.models import Organization
from axon_scim.protocol.constants import MEDIA_TYPE
from axon_scim.services import issue_token

from .factories import OrganizationFactory


def requires_postgresql(test: Any) -> Any:
    """Mark a test that needs PostgreSQL (real row locks, real concurrency)."""
    import os

    url = os.environ.get("DATABASE_URL", "")
    return pytest.mark.skipif(
        not url.startswith(("postgres://", "postgresql://")),
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test",
    )(pytest.mark.postgres(test))


class ScimClient:
    """A Django test client that speaks SCIM with one organization's bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        for key, value in (headers or {}).items():
            out["HTTP_" + key.upper().replace("-", "_")] = value
        return out

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = MEDIA_TYPE,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> Any:
        url = path if path.startswith("/") else f"/scim/v2/{path}"
        data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        call = getattr(self.client, method.lower())
        if method.upper() in ("GET", "HEAD"):
            return call(url, params, **self._headers(headers))
        return call(
            url,
            data=data if data is not None else "",
            content_type=content_type,
            **self._headers(headers),
        )

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        url = path if path.startswith("/") else f"/scim/v2/{path}"
        return self.client.get(url, params or {}, **self._headers(kw.get("headers")))

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, None, **kw)


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(slug="globex", name="Globex")


@pytest.fixture
def token_secret(org: Organization) -> str:
    return issue_token(org, label="tests")[1]


@pytest.fixture
def scim(token_secret: str) -> ScimClient:
    """A SCIM client holding a token of ``org``."""
    return ScimClient(token_secret)


@pytest.fixture
def other_scim(other_org: Organization) -> ScimClient:
    """A SCIM client holding a token of ``other_org``."""
    return ScimClient(issue_token(other_org, label="other")[1])


@pytest.fixture
def anonymous_scim() -> ScimClient:
    return ScimClient(None)
