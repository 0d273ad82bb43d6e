"""The gate of the portal API: session login, CSRF, sso:configure, tenant from the session only.

Every rule is checked on every endpoint; refused requests must change nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from guardian.shortcuts import assign_perm

from axon_scim.adapter import SESSION_ORGANIZATION_KEY
from axon_scim.models import AuditEvent, Organization, ScimGroup, ScimToken
from axon_scim.permissions import CanConfigureSso, HasSessionOrganization

from .conftest import World
from .factories import AccountFactory

API = "/api/v1/scim"
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided."}


def portal_client(user: Any, organization: Organization | None, *, csrf: bool = False) -> Client:
    """A test client signed in as ``user``, its session acting for ``organization``."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    if organization is not None:
        session = client.session
        session[SESSION_ORGANIZATION_KEY] = organization.pk
        session.save()
    return client


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # formatted with the World
    body: dict[str, Any] | None
    success: int

    @property
    def writes(self) -> bool:
        return self.method != "get"

    def url(self, w: World) -> str:
        return API + self.path.format(w=w)

    def payload(self, w: World) -> dict[str, Any] | None:
        if self.body is None:
            return None
        return {key: w.role.pk if value == "<role>" else value for key, value in self.body.items()}


ENDPOINTS = [
    Endpoint("roles", "get", "/roles", None, 200),
    Endpoint("role-mappings", "get", "/groups/role-mappings", None, 200),
    Endpoint(
        "role-mapping", "put", "/groups/{w.group.pk}/role-mapping", {"role_id": "<role>"}, 200
    ),
    Endpoint("tokens", "get", "/tokens", None, 200),
    Endpoint("token-create", "post", "/tokens", {"label": "new"}, 201),
    Endpoint("token-revoke", "delete", "/tokens/{w.token.pk}", None, 204),
    Endpoint("audit-events", "get", "/audit-events", None, 200),
    Endpoint("access-review", "get", "/access-review", None, 200),
]
WRITES = [e for e in ENDPOINTS if e.writes]
READS = [e for e in ENDPOINTS if not e.writes]
by_name = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)


def send(
    client: Client,
    endpoint: Endpoint,
    w: World,
    *,
    url: str | None = None,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """Call the endpoint; writes send a JSON body (DELETE an empty one unless given)."""
    target = url or endpoint.url(w)
    call = getattr(client, endpoint.method)
    if not endpoint.writes:
        return call(target, headers=headers or {})
    payload = body if body is not None else endpoint.payload(w)
    data = json.dumps(payload) if payload is not None else ""
    return call(target, data=data, content_type="application/json", headers=headers or {})


def state() -> tuple[Any, ...]:
    """Everything a portal write could change, to prove a refused request changed nothing."""
    return (
        sorted(ScimToken.objects.values_list("pk", "organization_id", "revoked")),
        sorted((str(pk), role) for pk, role in ScimGroup.objects.values_list("pk", "role_id")),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def admin(world: World) -> Any:
    """A portal user holding sso:configure on ``org``."""
    user = AccountFactory(username="admin")
    assign_perm("configure_sso", user, world.org)
    return user


# --- The gate passes --------------------------------------------------------------


@by_name
@pytest.mark.django_db
def test_an_admin_of_the_session_organization_passes(endpoint, world, admin):
    response = send(portal_client(admin, world.org), endpoint, world)
    assert response.status_code == endpoint.success, response.content


@by_name
@pytest.mark.django_db
def test_a_superuser_passes_by_django_design(endpoint, world):
    root = AccountFactory(username="root", is_superuser=True)
    response = send(portal_client(root, world.org), endpoint, world)
    assert response.status_code == endpoint.success, response.content


# --- Who is refused ---------------------------------------------------------------


@by_name
@pytest.mark.django_db
def test_anonymous_requests_are_refused(endpoint, world):
    before = state()
    response = send(Client(), endpoint, world)
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED
    assert state() == before


@by_name
@pytest.mark.django_db
def test_a_scim_bearer_token_is_refused(endpoint, world):
    before = state()
    response = send(Client(), endpoint, world, headers={"Authorization": f"Bearer {world.secret}"})
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED
    assert state() == before


@by_name
@pytest.mark.django_db
def test_a_user_without_sso_configure_is_refused(endpoint, world):
    user = AccountFactory(username="someone")
    before = state()
    response = send(portal_client(user, world.org), endpoint, world)
    assert response.status_code == 403
    assert response.json() == {"detail": CanConfigureSso.message}
    assert state() == before


@by_name
@pytest.mark.django_db
def test_sso_configure_on_another_organization_only_is_refused(endpoint, world):
    user = AccountFactory(username="their-admin")
    assign_perm("configure_sso", user, world.other_org)
    before = state()
    response = send(portal_client(user, world.org), endpoint, world)
    assert response.status_code == 403
    assert response.json() == {"detail": CanConfigureSso.message}
    assert state() == before


@by_name
@pytest.mark.django_db
def test_a_model_wide_permission_is_not_enough(endpoint, world):
    # Only the object permission on the organization counts, not auth's global one.
    user = AccountFactory(username="global")
    user.user_permissions.add(Permission.objects.get(codename="configure_sso"))
    response = send(portal_client(user, world.org), endpoint, world)
    assert response.status_code == 403
    assert response.json() == {"detail": CanConfigureSso.message}


@by_name
@pytest.mark.django_db
def test_a_session_without_an_organization_is_refused(endpoint, world, admin):
    # Admin of two organizations and none chosen: the adapter cannot pick one.
    assign_perm("configure_sso", admin, world.other_org)
    before = state()
    response = send(portal_client(admin, None), endpoint, world)
    assert response.status_code == 403
    assert response.json() == {"detail": HasSessionOrganization.message}
    assert state() == before


@by_name
@pytest.mark.django_db
def test_an_inactive_account_loses_its_session(endpoint, world, admin):
    client = portal_client(admin, world.org)
    admin.is_active = False
    admin.save()
    response = send(client, endpoint, world)
    assert response.status_code == 403
    assert response.json() == NOT_AUTHENTICATED


# --- CSRF -------------------------------------------------------------------------

CSRF_SECRET = "a" * 32


@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: e.name)
@pytest.mark.django_db
def test_writes_need_the_csrf_token(endpoint, world, admin):
    client = portal_client(admin, world.org, csrf=True)
    before = state()
    refused = send(client, endpoint, world)
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("CSRF Failed")
    assert state() == before

    client.cookies["csrftoken"] = CSRF_SECRET
    wrong = send(client, endpoint, world, headers={"X-CSRFToken": "b" * 32})
    assert wrong.status_code == 403
    assert wrong.json()["detail"].startswith("CSRF Failed")
    assert state() == before

    accepted = send(client, endpoint, world, headers={"X-CSRFToken": CSRF_SECRET})
    assert accepted.status_code == endpoint.success, accepted.content


@pytest.mark.parametrize("endpoint", READS, ids=lambda e: e.name)
@pytest.mark.django_db
def test_reads_need_no_csrf_token(endpoint, world, admin):
    response = send(portal_client(admin, world.org, csrf=True), endpoint, world)
    assert response.status_code == 200


# --- The organization never comes from the request --------------------------------

SPOOFS = ["header-id", "header-slug", "query-organization", "query-org", "body-organization"]


def spoofed(endpoint: Endpoint, w: World, how: str) -> dict[str, Any]:
    """Arguments of ``send`` that name ``other_org`` in the way ``how`` says."""
    other = w.other_org
    if how == "header-id":
        return {"headers": {"X-Tenant-ID": str(other.pk)}}
    if how == "header-slug":
        return {"headers": {"X-Tenant-ID": other.slug}}
    if how.startswith("query-"):
        return {"url": f"{endpoint.url(w)}?{how.removeprefix('query-')}={other.pk}"}
    return {"body": {**(endpoint.payload(w) or {}), "organization": other.pk}}


def read_spoofs() -> list[Any]:
    return [pytest.param(e, how, id=f"{e.name}-{how}") for e in READS for how in SPOOFS[:4]]


def write_spoofs() -> list[Any]:
    return [pytest.param(e, how, id=f"{e.name}-{how}") for e in WRITES for how in SPOOFS]


@pytest.fixture
def admin_of_both(world: World, admin: Any) -> Any:
    """sso:configure on both organizations: only the session decides which one is served."""
    assign_perm("configure_sso", admin, world.other_org)
    return admin


@pytest.mark.parametrize(("endpoint", "how"), read_spoofs())
@pytest.mark.django_db
def test_reads_ignore_a_client_supplied_organization(endpoint, how, world, admin_of_both):
    client = portal_client(admin_of_both, world.org)
    honest = send(client, endpoint, world)
    response = send(client, endpoint, world, **spoofed(endpoint, world, how))
    assert response.status_code == 200
    body, expected = response.json(), honest.json()
    # Paging links repeat the query string; everything else must be identical.
    body.pop("next", None)
    expected.pop("next", None)
    assert body == expected
    assert expected["count"] >= 1  # the comparison saw rows of org, not an empty page


@pytest.mark.parametrize(("endpoint", "how"), read_spoofs())
@pytest.mark.django_db
def test_naming_an_organization_grants_nothing(endpoint, how, world):
    # Permission on other_org only, session on org: naming other_org does not help.
    user = AccountFactory(username="their-admin")
    assign_perm("configure_sso", user, world.other_org)
    response = send(
        portal_client(user, world.org), endpoint, world, **spoofed(endpoint, world, how)
    )
    assert response.status_code == 403


@pytest.mark.parametrize(("endpoint", "how"), write_spoofs())
@pytest.mark.django_db
def test_writes_ignore_a_client_supplied_organization(endpoint, how, world, admin_of_both):
    foreign_before = (
        sorted(ScimToken.objects.filter(organization=world.other_org).values_list("pk", "revoked")),
        ScimGroup.objects.get(pk=world.foreign_group.pk).role_id,
        AuditEvent.objects.filter(organization=world.other_org).count(),
    )
    client = portal_client(admin_of_both, world.org)
    response = send(client, endpoint, world, **spoofed(endpoint, world, how))
    assert response.status_code == endpoint.success, response.content
    foreign_after = (
        sorted(ScimToken.objects.filter(organization=world.other_org).values_list("pk", "revoked")),
        ScimGroup.objects.get(pk=world.foreign_group.pk).role_id,
        AuditEvent.objects.filter(organization=world.other_org).count(),
    )
    assert foreign_after == foreign_before
    # ... and the change landed in the session's organization.
    if endpoint.name == "role-mapping":
        assert ScimGroup.objects.get(pk=world.group.pk).role_id == world.role.pk
    elif endpoint.name == "token-create":
        created = ScimToken.objects.get(pk=response.json()["id"])
        assert created.organization_id == world.org.pk
    else:
        assert ScimToken.objects.get(pk=world.token.pk).revoked is not None
    assert AuditEvent.objects.filter(organization=world.org, actor_user=admin_of_both).exists()


# --- Another organization's objects are not found --------------------------------


@pytest.mark.django_db
def test_a_group_of_another_organization_is_not_found(world, admin):
    before = state()
    response = portal_client(admin, world.org).put(
        f"{API}/groups/{world.foreign_group.pk}/role-mapping",
        {"role_id": world.role.pk},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    assert state() == before


@pytest.mark.django_db
def test_a_role_of_another_organization_is_not_found(world, admin):
    before = state()
    response = portal_client(admin, world.org).put(
        f"{API}/groups/{world.group.pk}/role-mapping",
        {"role_id": world.foreign_role.pk},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    assert state() == before


@pytest.mark.parametrize(
    "group_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "12345"]
)
@pytest.mark.django_db
def test_a_group_that_never_existed_is_not_found(world, admin, group_id):
    response = portal_client(admin, world.org).put(
        f"{API}/groups/{group_id}/role-mapping",
        {"role_id": world.role.pk},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.django_db
def test_a_token_of_another_organization_is_not_found(world, admin):
    before = state()
    response = portal_client(admin, world.org).delete(f"{API}/tokens/{world.foreign_token.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": f'Token "{world.foreign_token.pk}" not found.'}
    assert state() == before
    assert ScimToken.objects.get(pk=world.foreign_token.pk).revoked is None


@pytest.mark.parametrize("token_id", ["999999", "abc", "1" * 40, "²"])
@pytest.mark.django_db
def test_a_token_that_never_existed_is_not_found(world, admin, token_id):
    response = portal_client(admin, world.org).delete(f"{API}/tokens/{token_id}")
    assert response.status_code == 404
    assert response.json() == {"detail": f'Token "{token_id}" not found.'}


@pytest.mark.django_db
def test_lists_show_nothing_of_another_organization(world, admin):
    client = portal_client(admin, world.org)
    roles = client.get(f"{API}/roles").json()["results"]
    assert [r["id"] for r in roles] == [world.role.pk]
    groups = client.get(f"{API}/groups/role-mappings").json()["results"]
    assert [g["id"] for g in groups] == [str(world.group.pk)]
    tokens = client.get(f"{API}/tokens").json()["results"]
    assert [t["id"] for t in tokens] == [world.token.pk]
    events = client.get(f"{API}/audit-events").json()["results"]
    assert {e["resource_id"] for e in events} == {str(world.token.pk)}
