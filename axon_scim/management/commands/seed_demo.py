"""``manage.py seed_demo``: the organization, admin login and SCIM token of the demo.

Safe to run again: the organization and the login are reused, the login's
password is reset to a fresh one and a new token is issued, because neither
secret can be read back from the database. Stdout carries only
shell-sourceable lines, so ``eval "$(python manage.py seed_demo)"`` works;
everything else goes to stderr.
"""

from __future__ import annotations

import secrets
import shlex
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug
from django.db import transaction
from guardian.shortcuts import assign_perm

from axon_scim.models import Organization, Role, ScimGroup
from axon_scim.services import Actor, create_group, issue_token

DEFAULT_SLUG = "demo"
DEFAULT_NAME = "Demo Organization"
USERNAME = "admin"
ACTOR = Actor(label="manage.py seed_demo")
# Two roles a mapping may assign (permissions on the organization) and two
# SCIM groups to map them to, so the mapping flow can be tried at once.
DEMO_ROLES = {
    "Viewer": ("Read access to the organization", ["view_organization"]),
    "Editor": ("Read and change the organization", ["view_organization", "change_organization"]),
}
DEMO_GROUPS = ("Engineering", "Support")


def seed_roles_and_groups(organization: Organization) -> None:
    """Create the demo roles and groups that are missing; existing ones are left as they are."""
    for name, (description, codenames) in DEMO_ROLES.items():
        role, created = Role.objects.get_or_create(
            organization=organization, name=name, defaults={"description": description}
        )
        if created:
            role.permissions.set(
                Permission.objects.filter(
                    content_type__app_label="axon_scim", codename__in=codenames
                )
            )
    for display_name in DEMO_GROUPS:
        exists = ScimGroup.objects.for_tenant(organization).filter(
            display_name_lower=display_name.lower()
        )
        if not exists.exists():
            create_group(organization, ACTOR, {"displayName": display_name})


class Command(BaseCommand):
    help = "Create or reuse the demo organization and admin login; print a new token and password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org", default=DEFAULT_SLUG, metavar="SLUG", help="organization slug (default: demo)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["org"]
        try:
            validate_slug(slug)
        except ValidationError:
            raise CommandError(f"{slug!r} is not a valid organization slug.") from None
        password = secrets.token_urlsafe(18)
        with transaction.atomic():
            name = DEFAULT_NAME if slug == DEFAULT_SLUG else slug.replace("-", " ").title()
            organization, org_created = Organization.objects.get_or_create(
                slug=slug, defaults={"name": name}
            )
            user_model = get_user_model()
            lookup: dict[str, Any] = {user_model.USERNAME_FIELD: USERNAME}
            user, user_created = user_model.objects.get_or_create(**lookup)
            # Staff and superuser so the same login also opens the Django admin.
            user.is_staff = True
            user.is_superuser = True
            user.is_active = True
            user.set_password(password)
            user.save()
            # Superusers pass has_perm anyway; the explicit grant is what a
            # non-superuser portal admin would hold, so the demo shows it.
            assign_perm("configure_sso", user, organization)
            _token, secret = issue_token(organization, ACTOR, label=f"demo token for {USERNAME}")
            seed_roles_and_groups(organization)

        self.stderr.write(
            f"{'Created' if org_created else 'Reusing'} organization {slug!r}; "
            f"{'created' if user_created else 'reset password of'} login {USERNAME!r}; "
            "issued a new SCIM token."
        )
        for key, value in (
            ("ORG_SLUG", organization.slug),
            ("SCIM_TOKEN", secret),
            ("PORTAL_USERNAME", user.get_username()),
            ("PORTAL_PASSWORD", password),
        ):
            self.stdout.write(f"{key}={shlex.quote(value)}")
