"""Error bodies: every failure is an RFC 7644 section 3.12 error, never HTML, never internals."""

from __future__ import annotations

import json

import pytest

from axon_scim.models import ScimUser
from axon_scim.protocol import constants as c
from axon_scim.protocol.media import negotiate_media_type


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
@pytest.mark.parametrize(
    ("accept", "status", "content_type"),
    [
        ("*", 200, c.MEDIA_TYPE),  # old Java clients: read as */*
        ("application/scim+json;q=0", 406, c.MEDIA_TYPE),  # q=0 means "not acceptable"
        ("*/*;q=0", 406, c.MEDIA_TYPE),
        ("application/json, application/scim+json;q=0.9", 200, "application/json"),
        ("application/scim+json;q=0, */*", 200, "application/json"),
    ],
)
def test_accept_is_negotiated_as_protocol_media_says(scim, accept, status, content_type):
    """The views negotiate with ``protocol.media.negotiate_media_type``, quality values included."""
    response = scim.get("Users", headers={"Accept": accept})
    assert response.status_code == status, response.content
    assert response["Content-Type"] == content_type
    assert negotiate_media_type(accept) == (content_type if status == 200 else None)


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


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "attribute"),
    [
        ({"userName": "a" * 300}, "userName"),
        ({"userName": "ok@x.com", "title": "t" * 300}, "title"),
        ({"userName": "ok@x.com", "externalId": "e" * 300}, "externalId"),
        ({"userName": "ok@x.com", "locale": "l" * 100}, "locale"),
        ({"userName": "ok@x.com", "name": {"givenName": "g" * 300}}, "name.givenName"),
        (
            {"userName": "ok@x.com", "emails": [{"value": "a@x.com", "type": "t" * 100}]},
            "emails.type",
        ),
    ],
)
def test_over_long_values_are_400_naming_the_attribute(scim, body, attribute):
    response = scim.post("Users", {"schemas": [c.USER_SCHEMA], **body})
    error = assert_error(response, 400, "invalidValue")
    assert f'"{attribute}" is longer than' in error["detail"]
    assert not ScimUser.objects.exists()


@pytest.mark.django_db
def test_over_long_group_name_is_400(scim):
    response = scim.post("Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "g" * 300})
    assert (
        '"displayName" is longer than 255' in assert_error(response, 400, "invalidValue")["detail"]
    )


@pytest.mark.django_db
def test_nul_characters_are_refused(scim):
    body = json.dumps({"schemas": [c.USER_SCHEMA], "userName": "x\x00y"})
    assert_error(scim.post("Users", body), 400, "invalidValue")
    assert_error(scim.get("Users", {"filter": 'userName eq "a\x00"'}), 400, "invalidFilter")
    assert not ScimUser.objects.exists()


@pytest.mark.django_db
def test_deeply_nested_and_non_standard_json_are_400(scim):
    deep = '{"userName": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert_error(scim.post("Users", deep), 400, "invalidSyntax")
    assert_error(scim.post("Users", '{"userName": NaN}'), 400, "invalidSyntax")


@pytest.mark.django_db
def test_huge_start_index_is_an_empty_page(scim):
    body = scim.get("Users", {"startIndex": "100000000000000000000"}).json()
    assert (body["totalResults"], body["Resources"]) == (0, [])


@pytest.mark.django_db
def test_too_many_values_of_one_attribute_is_400(scim, settings):
    settings.AXON_SCIM = {"MAX_VALUES_PER_ATTRIBUTE": 3}
    emails = [{"value": f"{n}@x.com"} for n in range(4)]
    response = scim.post(
        "Users", {"schemas": [c.USER_SCHEMA], "userName": "m@x.com", "emails": emails}
    )
    assert (
        '"emails" has 4 values; at most 3' in assert_error(response, 400, "invalidValue")["detail"]
    )
