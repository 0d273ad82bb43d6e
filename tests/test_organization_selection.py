"""Organization selection: an admin of several organizations lists them and picks one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from guardian.shortcuts import assign_perm, remove_perm

from axon_scim.adapter import SESSION_ORGANIZATION_KEY, AccountAdapter
from axon_scim.models import AuditEvent, Organization
from axon_scim.permissions import CanConfigureSso, HasSessionOrganization

from .conftest import World
from .factories import AccountFactory, OrganizationFactory

API = "/api/v1/scim"
NOT_ALLOWED = {"detail": CanConfigureSso.message}


@pytest.fixture
def admin_of_both(world: World) -> Any:
    """A portal user holding sso:configure on both organizations, none selected yet."""
    user = AccountFactory(username="multi")
    assign_perm("configure_sso", user, world.org)
    assign_perm("configure_sso", user, world.other_org)
    return user


def signed_in(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def select(client: Client, slug: Any, **headers: str) -> Any:
    return client.put(
        f"{API}/session-organization",
        data=json.dumps({"organization": slug}),
        content_type="application/json",
        headers=headers,
    )


def listed(client: Client) -> list[dict[str, Any]]:
    response = client.get(f"{API}/organizations")
    assert response.status_code == 200, response.content
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def mapped_groups(client: Client) -> Any:
    return client.get(f"{API}/groups/role-mappings")


def selections() -> list[tuple[int, str, str, Any]]:
    events = AuditEvent.objects.filter(action="organization.selected").order_by("id")
    return list(events.values_list("organization_id", "actor_type", "resource_id", "after"))


@pytest.mark.django_db
def test_an_admin_of_two_organizations_sees_both_and_none_selected(world, admin_of_both):
    client = signed_in(admin_of_both)

    assert listed(client) == [
        {"slug": "acme", "name": "Acme", "selected": False},
        {"slug": "globex", "name": "Globex", "selected": False},
    ]
    response = mapped_groups(client)
    assert response.status_code == 403
    assert response.json() == {"detail": HasSessionOrganization.message}


@pytest.mark.django_db
def test_selecting_an_organization_serves_it_and_only_it(world, admin_of_both):
    client = signed_in(admin_of_both)

    response = select(client, "globex")

    assert response.status_code == 200, response.content
    assert response.json() == {"slug": "globex", "name": "Globex", "selected": True}
    assert [g["id"] for g in mapped_groups(client).json()["results"]] == [
        str(world.foreign_group.pk)
    ]
    assert [o["selected"] for o in listed(client)] == [False, True]

    assert select(client, "acme").status_code == 200
    assert [g["id"] for g in mapped_groups(client).json()["results"]] == [str(world.group.pk)]


@pytest.mark.django_db
def test_a_selection_is_audited_in_the_selected_organization(world, admin_of_both):
    client = signed_in(admin_of_both)

    select(client, "globex")

    event = AuditEvent.objects.get(action="organization.selected")
    assert event.organization == world.other_org
    assert (event.actor_type, event.actor_user) == ("user", admin_of_both)
    assert (event.resource_type, event.resource_id) == ("Organization", str(world.other_org.pk))
    assert event.after == {"organization": "globex"}
    assert [row[0] for row in selections()] == [world.other_org.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["globex", "no-such-org"])
def test_an_organization_the_user_may_not_configure_or_that_does_not_exist_is_403(world, slug):
    user = AccountFactory()
    assign_perm("configure_sso", user, world.org)
    client = signed_in(user)

    response = select(client, slug)

    # One answer for both, so that slugs cannot be probed.
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED
    assert selections() == []
    assert client.session.get(SESSION_ORGANIZATION_KEY) in (None, world.org.pk)
    assert [g["id"] for g in mapped_groups(client).json()["results"]] == [str(world.group.pk)]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"organization": None}, {"organization": ["acme"]}, []])
def test_a_malformed_body_is_400_and_selects_nothing(world, admin_of_both, body):
    client = signed_in(admin_of_both)

    response = client.put(
        f"{API}/session-organization", data=json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert SESSION_ORGANIZATION_KEY not in client.session
    assert selections() == []


@pytest.mark.django_db
def test_selecting_needs_the_csrf_token(world, admin_of_both):
    client = signed_in(admin_of_both, csrf=True)

    refused = select(client, "acme")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert SESSION_ORGANIZATION_KEY not in client.session
    assert selections() == []
    client.cookies["csrftoken"] = "a" * 32
    assert select(client, "acme", **{"X-CSRFToken": "b" * 32}).status_code == 403
    assert select(client, "acme", **{"X-CSRFToken": "a" * 32}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"), [("get", "organizations"), ("put", "session-organization")]
)
def test_anonymous_requests_are_refused(world, method, path):
    response = getattr(Client(), method)(f"{API}/{path}")

    assert response.status_code == 403
    assert selections() == []


@pytest.mark.django_db
def test_a_user_with_one_organization_keeps_it_selected_automatically(world):
    user = AccountFactory()
    assign_perm("configure_sso", user, world.other_org)
    client = signed_in(user)

    assert listed(client) == [{"slug": "globex", "name": "Globex", "selected": True}]
    assert mapped_groups(client).status_code == 200
    assert selections() == []  # nothing was chosen by the user


@pytest.mark.django_db
def test_a_user_without_sso_configure_lists_nothing(world):
    assert listed(signed_in(AccountFactory())) == []


@pytest.mark.django_db
def test_a_superuser_may_select_any_organization(world):
    root = AccountFactory(is_superuser=True, is_staff=True)
    client = signed_in(root)

    assert [o["slug"] for o in listed(client)] == ["acme", "globex"]
    assert select(client, "globex").status_code == 200


@pytest.mark.django_db
def test_a_revoked_permission_ends_the_selection_until_another_is_made(world, admin_of_both):
    client = signed_in(admin_of_both)
    select(client, "globex")
    remove_perm("configure_sso", admin_of_both, world.other_org)

    assert mapped_groups(client).status_code == 403
    assert listed(client) == [{"slug": "acme", "name": "Acme", "selected": False}]
    assert select(client, "globex").status_code == 403
    assert select(client, "acme").status_code == 200
    assert mapped_groups(client).status_code == 200


@pytest.mark.django_db
def test_a_host_adapter_that_keeps_the_organization_elsewhere_is_followed(
    world, admin_of_both, settings
):
    settings.AXON_SCIM = {"ADAPTER": f"{__name__}.CookieOrganizationAdapter"}
    client = signed_in(admin_of_both)

    assert select(client, "globex").status_code == 200

    assert SESSION_ORGANIZATION_KEY not in client.session
    assert client.session["host_tenant"] == "globex"
    assert [g["id"] for g in mapped_groups(client).json()["results"]] == [
        str(world.foreign_group.pk)
    ]


class CookieOrganizationAdapter(AccountAdapter):
    """A host that keeps its current tenant under its own session key, by slug."""

    def session_organization(self, request: Any) -> Organization | None:
        slug = request.session.get("host_tenant")
        return Organization.objects.filter(slug=slug).first() if slug else None

    def select_session_organization(self, request: Any, organization: Organization) -> None:
        request.session["host_tenant"] = organization.slug


@pytest.mark.django_db
def test_many_organizations_are_paged(admin_of_both):
    for n in range(3):
        assign_perm("configure_sso", admin_of_both, OrganizationFactory(slug=f"zz-{n}"))

    response = signed_in(admin_of_both).get(f"{API}/organizations", {"limit": 2, "offset": 4})

    assert response.json()["count"] == 5
    assert [o["slug"] for o in response.json()["results"]] == ["zz-2"]
