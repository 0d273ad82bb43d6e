"""The read queries written as SQL (``axon_scim.reads``) answer what the ORM queries did."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.db.models import F

from axon_scim.models import ScimGroup, ScimMembership, ScimToken, ScimUser
from axon_scim.reads import group_by_id, token_by_hash
from axon_scim.rendering import UserContext, UserRenderer
from axon_scim.services import issue_token

from .factories import ScimUserFactory, ScimUserValueFactory

BASE = "https://example.com/scim/v2"


@pytest.fixture
def people(org, other_org):
    boss = ScimUserFactory(organization=org, user_name="boss@x.com", display_name="Big 'B' \u00e9")
    ann = ScimUserFactory(organization=org, user_name="ann@x.com", manager=boss)
    bob = ScimUserFactory(organization=org, user_name="bob@x.com", display_name="")
    ScimUserValueFactory(user=ann, position=0, primary=True)
    ScimUserValueFactory(user=ann, position=1, type="home", value="a@home", primary=False)
    ScimUserValueFactory(
        user=ann, attribute="phoneNumbers", type="", value="+1 555", extra={"note": ["x", 1]}
    )
    ScimUserValueFactory(user=bob, position=0, type="", display="Bob's")
    for name in ("Zeta", "alpha", "Mid"):
        group = ScimGroup.objects.create(organization=org, display_name=name)
        for user in (ann, bob):
            ScimMembership.objects.create(organization=org, group=group, user=user)
    ScimUserFactory(organization=other_org, user_name="ann@x.com")
    return [boss, ann, bob]


@pytest.mark.django_db
def test_read_context_renders_what_the_orm_context_renders(people):
    renderer = UserRenderer(BASE)
    by_orm = ScimUser.objects.filter(pk__in=[u.pk for u in people]).select_related("manager")
    by_sql = ScimUser.objects.filter(pk__in=[u.pk for u in people]).annotate(
        manager_display_name=F("manager__display_name")
    )
    orm_context = UserContext.load(list(by_orm))
    sql_context = UserContext.read(list(by_sql))
    expected = {u.pk: renderer.render(u, orm_context) for u in by_orm}
    found = {u.pk: renderer.render(u, sql_context) for u in by_sql}
    assert found == expected
    ann = found[people[1].pk]
    assert [g["display"] for g in ann["groups"]] == ["alpha", "Mid", "Zeta"]
    assert ann["phoneNumbers"] == [{"note": ["x", 1], "value": "+1 555"}]
    assert [e.get("primary") for e in ann["emails"]] == [True, False]
    assert (
        ann["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["displayName"]
        == "Big 'B' \u00e9"
    )


@pytest.mark.django_db
def test_the_token_comes_with_its_organization(org, django_assert_num_queries):
    _, secret = issue_token(org, label="t")
    with django_assert_num_queries(1):
        token = token_by_hash(ScimToken.hash_secret(secret))
        assert token is not None and token.organization == org and token.label == "t"
    assert token_by_hash(ScimToken.hash_secret("not-a-secret")) is None


@pytest.mark.django_db
def test_a_group_is_found_only_in_its_organization(org, other_org):
    group = ScimGroup.objects.create(organization=org, display_name="G", external_id="e")
    found = group_by_id(org.pk, group.pk)
    assert found is not None
    assert (found.pk, found.display_name, found.external_id, found.version) == (
        group.pk,
        "G",
        "e",
        1,
    )
    assert found.created == group.created
    assert group_by_id(other_org.pk, group.pk) is None
    assert group_by_id(org.pk, uuid4()) is None
