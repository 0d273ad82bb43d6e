"""Error bodies: every failure is an RFC 7644 section 3.12 error, never HTML, never internals."""

from __future__ import annotations

import json

import pytest

from axon_scim.models import ScimUser
from axon_scim.protocol import constants as c


def assert_error(response, status, scim_type=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == c.MEDIA_TYPE
    body = response.json()
    assert body["schemas"] == [c.ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    return body


@pytest.mark.django_db
def test_malformed_json_is_400_invalid_syntax(scim):
    assert_error(scim.post("Users", "{not json"), 400, "invalidSyntax")
    assert_error(scim.post("Users", "[1, 2]"), 400, "invalidSyntax")


@pytest.mark.django_db
def test_missing_user_name_is_400(scim):
    assert_error(scim.post("Users", {"schemas": [c.USER_SCHEMA]}), 400, "invalidValue")


@pytest.mark.django_db
def test_wrong_content_type_is_415(scim):
    assert_error(
        scim.post("Users", "userName=x", content_type="application/x-www-form-urlencoded"), 415
    )
    assert_error(scim.post("Users", "x", content_type="text/plain"), 415)


@pytest.mark.django_db
def test_unacceptable_accept_is_406(scim):
    assert_error(scim.get("Users", headers={"Accept": "text/html"}), 406)


@pytest.mark.django_db
def test_plain_json_accept_is_answered(scim):
    response = scim.get("Users", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_oversized_body_is_413_before_parsing(scim, settings):
    settings.AXON_SCIM = {"MAX_REQUEST_BYTES": 100}
    body = json.dumps({"schemas": [c.USER_SCHEMA], "userName": "x" * 200})
    assert_error(scim.post("Users", body), 413)
    assert not ScimUser.objects.exists()


@pytest.mark.django_db
def test_method_not_allowed_is_405(scim):
    assert_error(scim.delete("Users"), 405)
    assert_error(scim.request("PUT", "Groups", {}), 405)


@pytest.mark.django_db
def test_500_reveals_no_internals(scim, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret database password hunter2")

    monkeypatch.setattr("axon_scim.services.create_user", explode)
    response = scim.post("Users", {"schemas": [c.USER_SCHEMA], "userName": "boom@x.com"})
    body = assert_error(response, 500)
    assert "hunter2" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()
    assert body["detail"] == "An internal error occurred. It has been logged."
    assert "hunter2" in caplog.text  # ... but the log has it


@pytest.mark.django_db
def test_requests_without_user_agent_work(scim):
    response = scim.post("Users", {"schemas": [c.USER_SCHEMA], "userName": "noua@x.com"})
    assert response.status_code == 201
