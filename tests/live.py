"""A live SCIM server on 127.0.0.1 for tests that talk real HTTP to it.

``live_scim`` starts Django's threaded live server (the one behind
pytest-django's ``live_server``) on a free port of 127.0.0.1 for one test,
issues a bearer token of a fresh organization, and makes httpx clients that
send it; ``HttpxScimClient`` runs scim2-client over one of them. Each request
is served on its own thread with its own database connection, so parallel
requests really run in parallel against PostgreSQL. On SQLite the test
database lives in memory and the server shares the test's connection, which is
enough for sequential clients.

The data the server reads must be committed, so the fixture needs
``transactional_db``. Import the fixture into a test module to use it as
``live_scim``::

    from .live import live_scim_fixture  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pytest_django.live_server_helper import LiveServer
from scim2_client import BaseSyncSCIMClient, RequestNetworkException

from axon_scim.models import Organization
from axon_scim.services import issue_token

#: Seconds any single request may take before the test fails instead of hanging.
REQUEST_TIMEOUT = 30.0


class HttpxScimClient(BaseSyncSCIMClient):
    """scim2-client's synchronous client sending its requests through an ``httpx.Client``.

    scim2-client 0.13 ships engines for httpx2 and WSGI only; the project's
    tests use httpx, so this is the small engine glue: send a request, parse
    JSON, and keep every endpoint on the base URL's origin and path.
    """

    def __init__(self, client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        # Resolve the endpoint exactly as httpx will send it, so that an absolute
        # URL or dot segments cannot carry the bearer token to another origin.
        base = self.client.base_url
        url = self.client.build_request("GET", endpoint).url
        same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
        return same_origin and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request as is; network failures become scim2-client's exception."""
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            error = RequestNetworkException()
            error.add_note(str(exc))
            raise error from exc


@dataclass
class LiveScim:
    """A running server, the organization its token belongs to, and clients holding it."""

    base_url: str
    organization: Organization
    token: str

    def http(self, **kwargs: Any) -> httpx.Client:
        """A new httpx client on the SCIM root, sending the bearer token."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return httpx.Client(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=kwargs.pop("timeout", REQUEST_TIMEOUT),
            **kwargs,
        )


@pytest.fixture(name="live_scim")
def live_scim_fixture(transactional_db: None) -> Iterator[LiveScim]:
    """A live server on a free port of 127.0.0.1 and a token of a new organization."""
    organization = Organization.objects.create(slug="live", name="Live")
    token = issue_token(organization, label="live tests")[1]
    server = LiveServer("127.0.0.1:0")
    try:
        yield LiveScim(f"{server.url}/scim/v2", organization, token)
    finally:
        server.stop()
