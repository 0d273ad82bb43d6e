"""Per-organization custom attributes: the portal API, then SCIM with them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from guardian.shortcuts import assign_perm

from axon_scim import services
from axon_scim.adapter import SESSION_ORGANIZATION_KEY
from axon_scim.audit import Actor
from axon_scim.extension_models import CustomAttribute, ScimExtensionValue
from axon_scim.extensions import resource_type
from axon_scim.models import AuditEvent, Organization, ScimUser
from axon_scim.protocol.errors import InvalidValueError
from axon_scim.protocol.filter import parse_filter
from axon_scim.protocol.schemas import USER_RESOURCE
from axon_scim.querying import compile_filter
from axon_scim.services.custom_attributes import declare_custom_attribute

from .conftest import ScimClient, provision, requires_postgresql
from .factories import AccountFactory, OrganizationFactory
from .parallel import at_once

API = "/api/v1/scim/custom-attributes"


def urn(org: Organization) -> str:
    return f"urn:ietf:params:scim:schemas:extension:{org.slug}:2.0:User"


@pytest.fixture
def portal(org: Organization) -> Client:
    admin = AccountFactory(username="admin")
    assign_perm("configure_sso", admin, org)
    client = Client()
    client.force_login(admin)
    session = client.session
    session[SESSION_ORGANIZATION_KEY] = org.pk
    session.save()
    return client


def declare(portal: Client, **body: Any) -> Any:
    return portal.post(API, body, content_type="application/json")


@pytest.mark.django_db
def test_declare_list_and_use_an_attribute(
    portal: Client, org: Organization, scim: ScimClient, anonymous_scim: ScimClient
) -> None:
    response = declare(portal, name="region", type="string")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("schema", "name", "type", "multiValued", "caseExact")} == {
        "schema": urn(org),
        "name": "region",
        "type": "string",
        "multiValued": False,
        "caseExact": False,
    }
    assert [a["name"] for a in portal.get(API).json()["results"]] == ["region"]
    event = AuditEvent.objects.filter(action="custom_attribute.declared").get()
    assert event.after["name"] == "region"

    assert urn(org) in {s["id"] for s in scim.get("Schemas").json()["Resources"]}
    assert urn(org) not in {s["id"] for s in anonymous_scim.get("Schemas").json()["Resources"]}
    extensions = scim.get("ResourceTypes/User").json()["schemaExtensions"]
    assert {"schema": urn(org), "required": False} in extensions

    user_id = provision(scim, "r@example.com", **{f"{urn(org)}:region": "EU"})
    assert scim.get(f"Users/{user_id}").json()[urn(org)] == {"region": "EU"}
    found = scim.get("Users", {"filter": f'{urn(org)}:region eq "eu"'}).json()
    assert [d["id"] for d in found["Resources"]] == [user_id]


@pytest.mark.django_db
def test_another_organization_neither_sees_nor_stores_it(
    portal: Client, org: Organization, other_scim: ScimClient
) -> None:
    declare(portal, name="region")
    assert urn(org) not in {s["id"] for s in other_scim.get("Schemas").json()["Resources"]}
    user_id = provision(other_scim, "o@example.com", **{urn(org): {"region": "EU"}})
    assert urn(org) not in other_scim.get(f"Users/{user_id}").json()
    assert not ScimExtensionValue.objects.exists()


@pytest.mark.django_db
def test_deleting_a_definition_hides_its_values_and_keeps_the_audit(
    portal: Client, org: Organization, scim: ScimClient
) -> None:
    attribute_id = declare(portal, name="licenceTier", type="integer").json()["id"]
    user_id = provision(scim, "d@example.com", **{urn(org): {"licenceTier": 2}})
    assert portal.delete(f"{API}/{attribute_id}").status_code == 204
    assert urn(org) not in scim.get(f"Users/{user_id}").json()
    assert not ScimExtensionValue.objects.exists()
    created = AuditEvent.objects.filter(action="user.created").get()
    assert created.after[urn(org)] == {"licenceTier": 2}
    assert AuditEvent.objects.filter(action="custom_attribute.deleted").get().before["name"] == (
        "licenceTier"
    )


@pytest.mark.django_db
def test_refusals(
    portal: Client, org: Organization, other_org: Organization, settings: Any
) -> None:
    assert declare(portal, name="userName").status_code == 400
    assert declare(portal, name="x y").status_code == 400
    assert declare(portal, name="region", type="blob").status_code == 400
    assert declare(portal, name="region").status_code == 201
    assert declare(portal, name="REGION").status_code == 409
    settings.AXON_SCIM = {"MAX_CUSTOM_ATTRIBUTES": 1}
    assert declare(portal, name="tier").status_code == 400
    foreign = CustomAttribute.objects.create(organization=other_org, name="zone")
    assert portal.delete(f"{API}/{foreign.pk}").status_code == 404
    assert CustomAttribute.objects.filter(pk=foreign.pk).exists()


@pytest.mark.django_db
def test_the_api_is_gated(org: Organization) -> None:
    stranger = Client()
    stranger.force_login(AccountFactory(username="stranger"))
    assert stranger.get(API).status_code in (403, 404)
    assert Client().get(API).status_code in (401, 403)


def group_urn(org: Organization) -> str:
    return f"urn:ietf:params:scim:schemas:extension:{org.slug}:2.0:Group"


def create_group(scim: ScimClient, name: str, **extra: Any) -> str:
    response = scim.post("Groups", {"displayName": name, **extra})
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


@pytest.mark.django_db
def test_a_group_attribute_has_the_groups_own_schema(
    portal: Client, org: Organization, scim: ScimClient, anonymous_scim: ScimClient
) -> None:
    response = declare(portal, name="costCenter", resourceType="Group", caseExact=True)
    assert response.status_code == 201, response.content
    assert (response.json()["schema"], response.json()["resourceType"]) == (
        group_urn(org),
        "Group",
    )
    assert declare(portal, name="region").json()["resourceType"] == "User"
    assert declare(portal, name="costCenter").status_code == 201  # a User one of the same name
    assert declare(portal, name="COSTCENTER", resourceType="Group").status_code == 409
    event = AuditEvent.objects.filter(action="custom_attribute.declared").order_by("sequence")[0]
    assert event.after["schema"] == group_urn(org)

    schemas = {s["id"]: s for s in scim.get("Schemas").json()["Resources"]}
    assert [a["name"] for a in schemas[group_urn(org)]["attributes"]] == ["costCenter"]
    assert [a["name"] for a in schemas[urn(org)]["attributes"]] == ["costCenter", "region"]
    assert group_urn(org) not in {
        s["id"] for s in anonymous_scim.get("Schemas").json()["Resources"]
    }
    extensions = scim.get("ResourceTypes/Group").json()["schemaExtensions"]
    assert {"schema": group_urn(org), "required": False} in extensions
    assert group_urn(org) not in str(scim.get("ResourceTypes/User").json())

    group_id = create_group(scim, "Finance", **{f"{group_urn(org)}:costCenter": "CC-9"})
    assert scim.get(f"Groups/{group_id}").json()[group_urn(org)] == {"costCenter": "CC-9"}
    found = scim.get("Groups", {"filter": f'{group_urn(org)}:costCenter eq "CC-9"'}).json()
    assert [d["id"] for d in found["Resources"]] == [group_id]
    missed = scim.get("Groups", {"filter": f'{group_urn(org)}:costCenter eq "cc-9"'}).json()
    assert missed["totalResults"] == 0  # caseExact
    # The User schema's attribute of the same name is not the Group's.
    user_id = provision(scim, "g@example.com", **{group_urn(org): {"costCenter": "CC-9"}})
    assert group_urn(org) not in scim.get(f"Users/{user_id}").json()


@pytest.mark.django_db
def test_deleting_a_group_definition_keeps_the_user_attribute_of_that_name(
    portal: Client, org: Organization, scim: ScimClient
) -> None:
    group_attribute = declare(portal, name="tier", type="integer", resourceType="Group").json()
    declare(portal, name="tier", type="integer")
    group_id = create_group(scim, "Tiered", **{group_urn(org): {"tier": 1}})
    user_id = provision(scim, "t@example.com", **{urn(org): {"tier": 2}})
    assert portal.delete(f"{API}/{group_attribute['id']}").status_code == 204
    assert group_urn(org) not in scim.get(f"Groups/{group_id}").json()
    assert scim.get(f"Users/{user_id}").json()[urn(org)] == {"tier": 2}
    assert list(ScimExtensionValue.objects.values_list("key", flat=True)) == [f"{urn(org)}:tier"]
    created = AuditEvent.objects.filter(action="group.created").get()
    assert created.after[group_urn(org)] == {"tier": 1}


@pytest.mark.django_db
def test_group_refusals_and_isolation(
    portal: Client, org: Organization, other_scim: ScimClient
) -> None:
    assert declare(portal, name="members", resourceType="Group").status_code == 400
    assert declare(portal, name="displayName", resourceType="Group").status_code == 400
    assert declare(portal, name="region", resourceType="Device").status_code == 400
    # userName is a core User attribute, not a Group one.
    assert declare(portal, name="userName", resourceType="Group").status_code == 201
    assert group_urn(org) not in {s["id"] for s in other_scim.get("Schemas").json()["Resources"]}
    group_id = create_group(other_scim, "Theirs", **{group_urn(org): {"userName": "x"}})
    assert group_urn(org) not in other_scim.get(f"Groups/{group_id}").json()
    assert not ScimExtensionValue.objects.exists()


@pytest.mark.django_db
def test_the_django_admin_declares_a_group_attribute_through_the_service(
    admin_client: Client, org: Organization
) -> None:
    form = {"organization": org.pk, "resource_type": "Group", "name": "region", "type": "string"}
    response = admin_client.post("/admin/axon_scim/customattribute/add/", form)
    assert response.status_code == 302, response.content
    assert CustomAttribute.objects.get().resource_type == "Group"
    event = AuditEvent.objects.filter(action="custom_attribute.declared").get()
    assert event.after["schema"] == group_urn(org)
    assert admin_client.get("/admin/axon_scim/customattribute/").status_code == 200


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_declarations_stay_within_the_limit(settings: Any) -> None:
    """The count and the insert serialize per organization: the limit holds under a race."""
    settings.AXON_SCIM = {**getattr(settings, "AXON_SCIM", {}), "MAX_CUSTOM_ATTRIBUTES": 2}
    org = OrganizationFactory(slug="racing")
    services.issue_token(org, Actor(label="test"), label="chain head")  # the audit chain exists
    declare_custom_attribute(org, Actor(label="test"), name="first")

    def declaring(name: str) -> Any:
        return lambda: declare_custom_attribute(
            Organization.objects.get(pk=org.pk), Actor(), name=name
        )

    for round_number in range(5):
        results = at_once([declaring(f"a{round_number}"), declaring(f"b{round_number}")])
        assert CustomAttribute.objects.filter(organization=org).count() == 2, results
        assert sum(isinstance(r, InvalidValueError) for r in results) == 1, results
        CustomAttribute.objects.filter(organization=org).exclude(name="first").delete()


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.mark.django_db
def test_an_organization_urn_that_is_another_schemas_is_refused(
    portal: Client, org: Organization, scim: ScimClient, settings: Any
) -> None:
    """A slug that makes the organization's URN the RFC's Enterprise one, or a host-declared one.

    Declared, the attributes were listed as a second schema of that URN, and silently dropped.
    """
    settings.AXON_SCIM = {
        "SCHEMA_EXTENSIONS": [
            {"urn": urn(org), "resourceType": "User", "attributes": [{"name": "badge"}]}
        ]
    }
    assert declare(portal, name="region").status_code == 400
    assert declare(portal, name="region", resourceType="Group").status_code == 201
    CustomAttribute.objects.create(organization=org, name="zone")  # declared before the host's
    schemas = [s["id"] for s in scim.get("Schemas").json()["Resources"]]
    assert schemas.count(urn(org)) == 1
    assert scim.get(f"Schemas/{urn(org)}").json()["attributes"][0]["name"] == "badge"
    extensions = scim.get("ResourceTypes/User").json()["schemaExtensions"]
    assert [e["schema"] for e in extensions].count(urn(org)) == 1

    Organization.objects.filter(pk=org.pk).update(slug="enterprise")
    org.refresh_from_db()
    assert urn(org) == ENTERPRISE
    assert declare(portal, name="region2").status_code == 400
    schemas = [s["id"] for s in scim.get("Schemas").json()["Resources"]]
    assert schemas.count(ENTERPRISE) == 1
    assert "zone" not in {a["name"] for a in scim.get(f"Schemas/{ENTERPRISE}").json()["attributes"]}


@requires_postgresql
@pytest.mark.django_db
def test_equality_on_an_organizations_user_attribute_uses_the_digest_index(
    org: Organization,
) -> None:
    """Issue 9: the filter bench S2c times looks its value up through an index, no scan."""
    declare_custom_attribute(org, Actor(label="test"), name="costCenter", type="string")
    users = ScimUser.objects.bulk_create(
        ScimUser(organization=org, user_name=f"u{n}", user_name_lower=f"u{n}") for n in range(3000)
    )
    key = f"{urn(org)}:costCenter"
    rows = [
        ScimExtensionValue(organization=org, user=user, key=key, text=f"CC-{n:06d}")
        for n, user in enumerate(users)
    ]
    for row in rows:
        row.derive_lookup_columns()
    ScimExtensionValue.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE axon_scim_scimuser, axon_scim_scimextensionvalue")
    resource = resource_type(USER_RESOURCE, org)
    condition = compile_filter(parse_filter(f'{key} eq "cc-000017"'), resource, organization=org)
    found = ScimUser.objects.for_tenant(org).filter(condition)
    assert list(found.values_list("user_name", flat=True)) == ["u17"]
    plan = found.explain()
    assert "axon_scim_ext_digest" in plan and "Seq Scan" not in plan, plan
