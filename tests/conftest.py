"""Fixtures shared by the test suite: organizations, tokens and a SCIM client."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from axon_scim.models import Organization, Role, ScimGroup, ScimToken, ScimUser
from axon_scim.protocol.constants import MEDIA_TYPE, PATCH_OP, USER_SCHEMA
from axon_scim.services import issue_token

from .factories import (
    AccountFactory,
    OrganizationFactory,
    ScimGroupFactory,
    ScimMembershipFactory,
    ScimUserFactory,
    make_role,
)
from .tenancy import TenancyChecker, checking, enabled

HOSTILE_SETTINGS = "tests.hostile.settings"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``tests/hostile`` runs only under its own settings, in a run of its own::

    pytest --ds=tests.hostile.settings tests/hostile

    (``make test`` runs it after the main suite). Its user model and DRF
    defaults are fixed when Django starts, so it cannot share a process.
    """
    hostile = collection_path == Path(__file__).parent / "hostile"
    if hostile and os.environ.get("DJANGO_SETTINGS_MODULE") != HOSTILE_SETTINGS:
        return True
    return None


def requires_postgresql(test: Any) -> Any:
    """Mark a test that needs PostgreSQL (real row locks, real concurrency)."""
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


@pytest.fixture(autouse=True)
def _forget_cached_schemas() -> Any:
    """An organization's custom attributes are cached; ids recur from test to test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def tenancy_checker(request: pytest.FixtureRequest) -> Any:
    """Fail the test when axon_scim issues a statement not scoped to one organization.

    See tests/tenancy.py; a test that provokes violations on purpose marks
    itself ``tenancy_unchecked``.
    """
    if not enabled() or request.node.get_closest_marker("tenancy_unchecked"):
        yield None
        return
    with checking(TenancyChecker()) as checker:
        yield checker
    log = os.environ.get("AXON_TENANCY_LOG")  # survey mode: append, do not fail
    if log:
        with open(log, "a") as out:
            for v in checker.violations:
                out.write(f"{request.node.nodeid}\t{v.caller}\t{v.problem}\t{v.reason}\t{v.sql}\n")
    elif checker.violations:
        pytest.fail(checker.report(), pytrace=False)


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


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp request body (RFC 7644 section 3.5.2) carrying ``operations``."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def provision(scim: ScimClient, user_name: str, **extra: Any) -> str:
    """Create a User through SCIM and return its id."""
    response = scim.post("Users", {"schemas": [USER_SCHEMA], "userName": user_name, **extra})
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


@dataclass
class World:
    """Two organizations, each with a group, a role and a token; ours also has two members."""

    org: Organization
    other_org: Organization
    role: Role
    group: ScimGroup
    members: list[ScimUser]
    token: ScimToken
    secret: str
    foreign_group: ScimGroup
    foreign_role: Role
    foreign_token: ScimToken


@pytest.fixture
def world(org: Organization, other_org: Organization) -> World:
    group = ScimGroupFactory(organization=org, display_name="Operators")
    members = [
        ScimUserFactory(organization=org, account=AccountFactory(), user_name=name)
        for name in ("alice@example.com", "bob@example.com")
    ]
    for member in members:
        ScimMembershipFactory(group=group, user=member)
    token, secret = issue_token(org, label="okta")
    return World(
        org=org,
        other_org=other_org,
        role=make_role(org, "Operator", "configure_sso"),
        group=group,
        members=members,
        token=token,
        secret=secret,
        foreign_group=ScimMembershipFactory(group=ScimGroupFactory(organization=other_org)).group,
        foreign_role=make_role(other_org, "Their operator", "configure_sso"),
        foreign_token=issue_token(other_org, label="other")[0],
    )
