"""Bearer tokens and tenant scoping: one organization never sees another's resources."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.timezone import now

from axon_scim.models import ScimGroup, ScimMembership, ScimToken, ScimUser
from axon_scim.protocol import constants as c
from axon_scim.services import issue_token, revoke_token

from .conftest import ScimClient
from .factories import ScimGroupFactory, ScimMembershipFactory, ScimUserFactory

PATCH = {
    "schemas": [c.PATCH_OP],
    "Operations": [{"op": "replace", "path": "displayName", "value": "Hijacked"}],
}


@pytest.fixture
def foreign(other_org):
    """A user in a group of the other organization."""
    membership = ScimMembershipFactory(
        group=ScimGroupFactory(organization=other_org, display_name="Theirs")
    )
    return membership.user, membership.group


def assert_404(response):
    assert response.status_code == 404, response.content
    assert response.json()["schemas"] == [c.ERROR]
    assert response.json()["status"] == "404"


@pytest.mark.django_db
def test_other_organization_ids_answer_404_on_every_endpoint(scim, foreign):
    user, group = foreign
    for kind, pk in (("Users", user.pk), ("Groups", group.pk)):
        assert_404(scim.get(f"{kind}/{pk}"))
        assert_404(scim.put(f"{kind}/{pk}", {"userName": "x", "displayName": "x"}))
        assert_404(scim.patch(f"{kind}/{pk}", PATCH))
        assert_404(scim.delete(f"{kind}/{pk}"))
    # ... exactly as an id that never existed does
    assert_404(scim.get("Users/00000000-0000-0000-0000-000000000000"))
    assert_404(scim.get("Users/not-a-uuid"))
    assert ScimUser.objects.get(pk=user.pk).display_name == user.display_name
    assert ScimGroup.objects.get(pk=group.pk).display_name == "Theirs"


@pytest.mark.django_db
def test_lists_filters_and_searches_see_one_organization(scim, org, foreign):
    user, group = foreign
    mine = ScimUserFactory(organization=org, user_name="mine@x.com")
    listing = scim.get("Users").json()
    assert [r["id"] for r in listing["Resources"]] == [str(mine.pk)]
    assert (
        scim.get("Users", {"filter": f'userName eq "{user.user_name}"'}).json()["totalResults"] == 0
    )
    assert (
        scim.get("Users", {"filter": f'groups.value eq "{group.pk}"'}).json()["totalResults"] == 0
    )
    assert scim.get("Groups").json()["totalResults"] == 0
    search = {"schemas": [c.SEARCH_REQUEST], "filter": "userName pr"}
    assert scim.post("Users/.search", search).json()["totalResults"] == 1
    assert scim.post(".search", {"schemas": [c.SEARCH_REQUEST]}).json()["totalResults"] == 1
    assert scim.post("Groups/.search", {"schemas": [c.SEARCH_REQUEST]}).json()["totalResults"] == 0


@pytest.mark.django_db
def test_foreign_member_id_is_never_linked(scim, foreign):
    user, group = foreign
    for value in (str(user.pk), str(group.pk), "not-a-uuid"):
        response = scim.post(
            "Groups",
            {"schemas": [c.GROUP_SCHEMA], "displayName": "Mine", "members": [{"value": value}]},
        )
        assert response.status_code == 400
        assert response.json()["scimType"] == "invalidValue"
        assert value in response.json()["detail"]
    assert not ScimGroup.objects.filter(display_name="Mine").exists()
    assert ScimMembership.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer a b"]
)
def test_missing_or_bad_token_is_401_scim_error(header):
    client = ScimClient(None)
    headers = {"Authorization": header} if header else None
    response = client.get("Users", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == c.MEDIA_TYPE
    body = response.json()
    assert body["schemas"] == [c.ERROR] and body["status"] == "401"


@pytest.mark.django_db
def test_revoked_and_expired_tokens_are_401(org):
    token, secret = issue_token(org, label="t")
    client = ScimClient(secret)
    assert client.get("Users").status_code == 200
    revoke_token(token)
    assert client.get("Users").status_code == 401
    _expired, secret2 = issue_token(org, expires=now() - timedelta(seconds=1))
    assert ScimClient(secret2).get("Users").status_code == 401


@pytest.mark.django_db
def test_last_used_is_not_a_write_per_request(org, django_assert_max_num_queries):
    token, secret = issue_token(org)
    client = ScimClient(secret)
    client.get("Users")
    first = ScimToken.objects.get(pk=token.pk).last_used
    assert first is not None
    client.get("Users")
    assert ScimToken.objects.get(pk=token.pk).last_used == first


@pytest.mark.django_db
def test_token_is_stored_hashed(org):
    token, secret = issue_token(org)
    assert secret.startswith("axscim_")
    assert secret not in (token.secret_hash, token.prefix)
    assert token.secret_hash == ScimToken.hash_secret(secret)


@pytest.mark.django_db
def test_root_search_across_types(scim, org):
    ScimUserFactory(organization=org, user_name="ada@x.com", display_name="")
    ScimGroupFactory(organization=org, display_name="Ops")

    def search(text):
        return scim.post(".search", {"schemas": [c.SEARCH_REQUEST], "filter": text})

    both = search("displayName pr or userName pr").json()
    assert both["totalResults"] == 2
    assert [r["schemas"][0] for r in both["Resources"]] == [c.USER_SCHEMA, c.GROUP_SCHEMA]
    only_users = search('userName eq "ADA@x.com"').json()
    assert [r["userName"] for r in only_users["Resources"]] == ["ada@x.com"]
    groups = search("not (userName pr)").json()
    assert [r["displayName"] for r in groups["Resources"]] == ["Ops"]
    unknown = search("nosuch pr")
    assert unknown.status_code == 400 and unknown.json()["scimType"] == "invalidFilter"
