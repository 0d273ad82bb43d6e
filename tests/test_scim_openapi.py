"""docs/scim.openapi.yaml: valid OpenAPI, and true of a live SCIM server (schemathesis).

The document is written by hand. schemathesis sends generated requests to a
live server with a bearer token and checks that no answer is a 5xx and that
every status code, content type, header and body is one the document
describes. The SCIM server is deliberately lenient with what identity
providers send (RFC 7644's own rule), so the checks that expect generated
schema-violating input to be refused are not run here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .live import LiveScim, live_scim_fixture  # noqa: F401

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "scim.openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(DOCUMENT)

# The bearer token of the test's live server, handed to schemathesis by the auth provider.
TOKEN: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class BearerToken:
    """The live organization's token, as the operations' bearer authentication."""

    def get(self, case: Any, context: Any) -> str | None:
        return TOKEN.get("secret")  # None while pytest collects

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def scim_server(live_scim: LiveScim) -> Iterator[LiveScim]:
    TOKEN["secret"] = live_scim.token
    yield live_scim
    TOKEN.clear()


def test_the_document_is_valid_openapi():
    validate(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@pytest.mark.live
def test_the_scim_server_answers_as_described(case: Any, scim_server: LiveScim):
    case.call_and_validate(base_url=scim_server.base_url, checks=CHECKS, timeout=30)
