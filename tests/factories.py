"""factory-boy factories for the models the tests build."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from axon_scim.models import Organization, ScimGroup, ScimMembership, ScimUser, ScimUserValue


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"account-{n}")


class ScimUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScimUser

    organization = factory.SubFactory(OrganizationFactory)
    user_name = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.LazyAttribute(lambda o: o.user_name.split("@")[0].title())


class ScimUserValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScimUserValue

    user = factory.SubFactory(ScimUserFactory)
    organization = factory.SelfAttribute("user.organization")
    attribute = "emails"
    type = "work"
    value = factory.LazyAttribute(lambda o: o.user.user_name)


class ScimGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScimGroup

    organization = factory.SubFactory(OrganizationFactory)
    display_name = factory.Sequence(lambda n: f"Group {n}")


class ScimMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScimMembership

    group = factory.SubFactory(ScimGroupFactory)
    organization = factory.SelfAttribute("group.organization")
    user = factory.SubFactory(ScimUserFactory, organization=factory.SelfAttribute("..organization"))
