"""Discovery endpoints: ServiceProviderConfig, Schemas, ResourceTypes (RFC 7644 section 4)."""

from __future__ import annotations

import pytest

from axon_scim.protocol import constants as c

BASE = "http://testserver/scim/v2"


@pytest.mark.django_db
def test_service_provider_config_needs_no_token(anonymous_scim):
    response = anonymous_scim.get("ServiceProviderConfig")
    assert response.status_code == 200
    assert response["Content-Type"] == c.MEDIA_TYPE
    assert response.json() == {
        "schemas": [c.SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://github.com/axon-scim/axon-scim#readme",
        "patch": {"supported": True},
        "bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 4194304},
        "filter": {"supported": True, "maxResults": 1000},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": 100,
            "maxPageSize": 1000,
            "cursorTimeout": 3600,
        },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A bearer token of one organization, created in the portal.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{BASE}/ServiceProviderConfig",
        },
    }


@pytest.mark.django_db
def test_service_provider_config_follows_settings(anonymous_scim, settings):
    settings.AXON_SCIM = {
        "MAX_PAGE_SIZE": 50,
        "DEFAULT_PAGE_SIZE": 20,
        "CURSOR_TIMEOUT": 600,
        "STORE_PASSWORD": True,
    }
    body = anonymous_scim.get("ServiceProviderConfig").json()
    assert body["filter"] == {"supported": True, "maxResults": 50}
    assert body["changePassword"] == {"supported": True}
    assert body["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 20,
        "maxPageSize": 50,
        "cursorTimeout": 600,
    }


@pytest.mark.django_db
def test_schemas_list_user_enterprise_group(anonymous_scim, settings):
    settings.AXON_SCIM = {}  # no host-declared extension (the demo settings declare one)
    body = anonymous_scim.get("Schemas").json()
    assert body["schemas"] == [c.LIST_RESPONSE]
    assert body["totalResults"] == 3
    ids = [schema["id"] for schema in body["Resources"]]
    assert ids == [c.USER_SCHEMA, c.ENTERPRISE_USER_SCHEMA, c.GROUP_SCHEMA]
    for schema in body["Resources"]:
        assert schema["meta"] == {
            "resourceType": "Schema",
            "location": f"{BASE}/Schemas/{schema['id']}",
        }


@pytest.mark.django_db
def test_schema_by_id_describes_attributes(anonymous_scim):
    body = anonymous_scim.get(f"Schemas/{c.USER_SCHEMA}").json()
    user_name = next(a for a in body["attributes"] if a["name"] == "userName")
    assert user_name == {
        "name": "userName",
        "type": "string",
        "multiValued": False,
        "description": "Unique identifier for the User, unique per organization.",
        "required": True,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "always",
        "uniqueness": "server",
    }
    password = next(a for a in body["attributes"] if a["name"] == "password")
    assert (password["mutability"], password["returned"]) == ("writeOnly", "never")


@pytest.mark.django_db
def test_resource_types(anonymous_scim, settings):
    settings.AXON_SCIM = {}  # no host-declared extension (the demo settings declare one)
    body = anonymous_scim.get("ResourceTypes").json()
    assert body["totalResults"] == 2
    user = anonymous_scim.get("ResourceTypes/User").json()
    assert user == {
        "schemas": [c.RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": c.USER_SCHEMA,
        "schemaExtensions": [{"schema": c.ENTERPRISE_USER_SCHEMA, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/User"},
    }
    group = anonymous_scim.get("ResourceTypes/Group").json()
    assert (group["endpoint"], group["schemaExtensions"]) == ("/Groups", [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["Schemas/urn:nope", "ResourceTypes/Device", "Devices", "Users/a/b"]
)
def test_unknown_discovery_ids_answer_scim_404(anonymous_scim, path):
    response = anonymous_scim.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == c.MEDIA_TYPE
    assert response.json()["schemas"] == [c.ERROR]
    assert response.json()["status"] == "404"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "ServiceProviderConfig",
        "Schemas",
        "ResourceTypes",
        f"Schemas/{c.USER_SCHEMA}",
        "ResourceTypes/User",
    ],
)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_discovery_writes_answer_405(anonymous_scim, path, method):
    response = anonymous_scim.request(method.upper(), path, {"schemas": []})
    assert response.status_code == 405
    body = response.json()
    assert body["schemas"] == [c.ERROR] and body["status"] == "405"
