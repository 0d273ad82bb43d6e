"""Issue #10, finding 1: a host-wide DRF setting broke SCIM. Each case, and proof the host bites.

Before the views owned their DRF policy, under these settings:

- ``UserRateThrottle``: every token-authenticated SCIM request was a 500
  (``'ScimPrincipal' object has no attribute 'pk'``);
- ``AnonRateThrottle``: a throttled discovery request was a 500, not a 429;
- ``AcceptHeaderVersioning`` with ``ALLOWED_VERSIONS``: every SCIM request was
  a 406 blaming the media type (``NamespaceVersioning``: a 404).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.versioning import AcceptHeaderVersioning
from rest_framework.views import APIView

from axon_scim.protocol.constants import LIST_RESPONSE, MEDIA_TYPE

from ..conftest import ScimClient

pytestmark = pytest.mark.django_db

ACCEPT_SCIM = {"Accept": MEDIA_TYPE}
EMPTY_LIST = {
    "schemas": [LIST_RESPONSE],
    "totalResults": 0,
    "startIndex": 1,
    "itemsPerPage": 0,
    "Resources": [],
}


def test_the_hostile_defaults_are_live(client):
    """The host's own endpoint gets every default: a typo in the settings would void this suite."""
    assert APIView.throttle_classes == [AnonRateThrottle, UserRateThrottle]
    assert APIView.versioning_class is AcceptHeaderVersioning
    assert get_user_model()._meta.label == "hostile_accounts.Account"

    response = client.get("/host/api/me", headers={"Accept": "application/json; version=1.0"})

    assert response.status_code == 401
    assert response.json() == {
        "error": {"status": 401, "message": {"detail": "Anmeldedaten fehlen."}}
    }


def test_the_hosts_versioning_refuses_a_request_without_a_version(client):
    """What SCIM got: the host's view answers 406 to a request naming no allowed version."""
    response = client.get("/host/api/me", headers={"Accept": "application/json"})

    assert response.status_code == 406
    assert response.json() == {
        "error": {
            "status": 406,
            "message": {"detail": 'Ungültige Version in der "Accept" Kopfzeile.'},
        }
    }


@pytest.fixture
def throttles_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's throttles without its versioning, which would refuse requests before them."""
    monkeypatch.setattr(APIView, "versioning_class", None)


@pytest.mark.usefixtures("throttles_only")
def test_user_rate_throttle_leaves_token_requests_alone(scim: ScimClient):
    """Was: 500 'ScimPrincipal' object has no attribute 'pk', from the first request on."""
    for _ in range(3):
        response = scim.get("Users")
        assert response.status_code == 200
        assert response.json() == EMPTY_LIST


@pytest.mark.usefixtures("throttles_only")
def test_anon_rate_throttle_leaves_discovery_alone(anonymous_scim: ScimClient):
    """Was: the second request of the day throttled by the host, and answered as a 500."""
    for _ in range(3):
        for path in ("ServiceProviderConfig", "Schemas", "ResourceTypes"):
            assert anonymous_scim.get(path).status_code == 200


def test_the_hosts_versioning_leaves_scim_alone(scim: ScimClient, host_versioning):
    """Was: 406 "The server answers only application/scim+json ..." to every request."""
    assert APIView.versioning_class is host_versioning
    for accept in (MEDIA_TYPE, "application/json", "*/*"):
        response = scim.get("Users", headers={"Accept": accept})
        assert response.status_code == 200
        assert response.json() == EMPTY_LIST
