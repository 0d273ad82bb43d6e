"""The OpenAPI document, failure recording and the activity page under the hostile host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from axon_scim.models import AuditEvent, Organization, ScimRequestFailure

from ..conftest import ScimClient

pytestmark = pytest.mark.django_db

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "portal-api.openapi.yaml"


def test_the_schema_is_served_as_committed(portal: Any):
    response = portal.get("/api/v1/scim/schema")
    assert response.status_code == 200
    assert response.content.decode() == COMMITTED.read_text(encoding="utf-8")


def test_a_failed_request_is_recorded_under_atomic_requests(scim: ScimClient, org: Organization):
    assert scim.get("Users/missing").status_code == 404
    assert list(ScimRequestFailure.objects.values_list("path", "status")) == [
        ("/scim/v2/Users/missing", 404)
    ]


def test_the_activity_page_renders_in_german_with_plain_coordinates(org: Organization):
    for _ in range(3):
        AuditEvent.objects.create(organization=org, action="user.created", resource_type="User")
    root = get_user_model().objects.create_superuser("root@acme.example", "x")
    client = Client()
    client.force_login(root)

    page = client.get(f"/admin/axon_scim/organization/{org.pk}/activity/")

    assert page.status_code == 200
    (bar,) = re.findall(r'<rect class="bar"[^>]*>', page.content.decode())
    assert "," not in bar
