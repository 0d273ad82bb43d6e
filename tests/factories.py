"""factory-boy factories for the models the tests build."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from axon_scim.models import (
    Organization,
    Role,
    ScimGroup,
    ScimMembership,
    ScimUser,
    ScimUserValue,
)


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


def make_role(
    organization: Organization, name: str, *codenames: str, description: str = ""
) -> Role:
    """A role of ``organization`` carrying the named permissions of axon_scim's models."""
    role = Role.objects.create(organization=organization, name=name, description=description)
    role.permissions.set(
        Permission.objects.filter(content_type__app_label="axon_scim", codename__in=codenames)
    )
    return role


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
