"""The portal API's OpenAPI document: committed, served behind the gate, generated cleanly.

``test_portal_openapi_live.py`` runs schemathesis against the live API with
the committed document; this module keeps that document equal to what the
code generates.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema
from guardian.shortcuts import assign_perm
from openapi_spec_validator import validate

from axon_scim.adapter import SESSION_ORGANIZATION_KEY
from axon_scim.models import Organization
from axon_scim.portal_api import schema as schema_view
from axon_scim.portal_api.openapi import portal_schema, render_yaml
from axon_scim.services import issue_token

from .factories import AccountFactory

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "portal-api.openapi.yaml"
REGENERATE = "python manage.py scim_portal_openapi --file docs/portal-api.openapi.yaml"
SCHEMA_URL = "/api/v1/scim/schema"


@pytest.fixture
def portal(org: Organization) -> Client:
    """An admin of ``org``, signed in, acting for it."""
    admin = AccountFactory(username="admin")
    assign_perm("configure_sso", admin, org)
    client = Client()
    client.force_login(admin)
    session = client.session
    session[SESSION_ORGANIZATION_KEY] = org.pk
    session.save()
    return client


def test_the_committed_document_is_what_the_code_generates():
    generated = render_yaml(portal_schema()).decode()
    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        f"docs/portal-api.openapi.yaml is stale; regenerate it with: {REGENERATE}"
    )


def test_the_document_is_valid_openapi_and_generates_without_warnings():
    document = portal_schema()
    assert not GENERATOR_STATS, "drf-spectacular warned while generating the document"
    validate_schema(document)
    validate(yaml.safe_load(COMMITTED.read_text(encoding="utf-8")))


def test_it_describes_every_portal_endpoint_and_nothing_else():
    paths = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))["paths"]
    assert sorted((path, sorted(item)) for path, item in paths.items()) == [
        ("/api/v1/scim/access-review", ["get"]),
        ("/api/v1/scim/audit-events", ["get"]),
        ("/api/v1/scim/custom-attributes", ["get", "post"]),
        ("/api/v1/scim/custom-attributes/{attribute_id}", ["delete"]),
        ("/api/v1/scim/groups/role-mappings", ["get"]),
        ("/api/v1/scim/groups/{group_id}/role-mapping", ["put"]),
        ("/api/v1/scim/organizations", ["get"]),
        ("/api/v1/scim/roles", ["get"]),
        ("/api/v1/scim/session-organization", ["put"]),
        ("/api/v1/scim/tokens", ["get", "post"]),
        ("/api/v1/scim/tokens/{token_id}", ["delete"]),
    ]


def test_the_command_prints_the_committed_document():
    out = StringIO()
    call_command("scim_portal_openapi", stdout=out)
    assert out.getvalue() == COMMITTED.read_text(encoding="utf-8")


@pytest.mark.django_db
def test_the_schema_is_served_as_committed_in_yaml_and_json(portal: Client):
    response = portal.get(SCHEMA_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert response.content.decode() == COMMITTED.read_text(encoding="utf-8")

    as_json = portal.get(SCHEMA_URL, {"format": "json"})
    assert as_json["Content-Type"] == "application/vnd.oai.openapi+json"
    assert as_json.json() == yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))


@pytest.mark.django_db
def test_the_schema_is_behind_the_portal_gate(org: Organization):
    anonymous = Client().get(SCHEMA_URL, {"format": "json"})
    outsider = Client()
    outsider.force_login(AccountFactory(username="outsider"))
    stranger = outsider.get(SCHEMA_URL, {"format": "json"})

    assert (anonymous.status_code, anonymous.json()) == (
        403,
        {"detail": "Authentication credentials were not provided."},
    )
    assert (stranger.status_code, stranger.json()) == (
        403,
        {"detail": "No organization is selected for this session."},
    )


@pytest.mark.django_db
def test_without_drf_spectacular_the_schema_answers_501(portal: Client, monkeypatch):
    monkeypatch.setattr(schema_view, "find_spec", lambda name: None)
    response = portal.get(SCHEMA_URL)
    assert response.status_code == 501
    assert json.loads(response.content) == {
        "detail": "The OpenAPI document needs drf-spectacular: pip install 'axon-scim[openapi]'."
    }


def test_without_drf_spectacular_the_command_says_what_to_install(monkeypatch):
    from axon_scim.management.commands import scim_portal_openapi

    monkeypatch.setattr(scim_portal_openapi, "find_spec", lambda name: None)
    with pytest.raises(CommandError, match=r"pip install 'axon-scim\[openapi\]'"):
        call_command("scim_portal_openapi")


def test_the_hosts_default_schema_class_changes_nothing(settings: Any):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_SCHEMA_CLASS": "rest_framework.schemas.coreapi.AutoSchema",
    }
    assert render_yaml(portal_schema()).decode() == COMMITTED.read_text(encoding="utf-8")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "minimum"),
    [
        ({"limit": "0"}, "limit", 1),
        ({"limit": "-3"}, "limit", 1),
        ({"limit": "ten"}, "limit", 1),
        ({"offset": "1.5"}, "offset", 0),
        ({"offset": "-1"}, "offset", 0),
        ({"limit": "00"}, "limit", 1),
    ],
)
def test_a_page_parameter_out_of_range_answers_400(portal: Client, query, field, minimum):
    response = portal.get("/api/v1/scim/tokens", query)
    assert response.status_code == 400
    assert response.json() == {field: [f"A whole number of at least {minimum} is required."]}


@pytest.mark.django_db
def test_a_limit_over_the_maximum_is_capped(portal: Client, org: Organization):
    for label in ("a", "b"):
        issue_token(org, label=label)
    response = portal.get("/api/v1/scim/tokens", {"limit": "9" * 5000, "offset": "1"})
    assert response.status_code == 200
    assert [token["label"] for token in response.json()["results"]] == ["a"]


def test_a_hosts_own_document_stays_valid_beside_ours():
    """A host generating its own document meets the portal views as they are, with no refs to
    components that only axon_scim's settings add."""
    from drf_spectacular.generators import SchemaGenerator

    portal_schema()  # the description module is loaded and has been used
    document = SchemaGenerator().get_schema(request=None, public=True)

    validate(json.loads(json.dumps(document)))
    assert "csrfToken" not in json.dumps(document)
