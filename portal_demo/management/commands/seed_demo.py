"""``manage.py seed_demo``: the organization, admin login and SCIM token of the demo.

The login is the demo's own (``demo-admin`` unless ``--username`` says
otherwise): seed_demo creates it and records that it did
(``portal_demo.models.DemoLogin``). It never changes an account it did not
create: if one of that name exists already, the command stops and changes
nothing. Safe to run again: the organization and the demo's login are
reused, the login's password is reset to a fresh one and a new token is
issued, because neither secret can be read back from the database.

``--org other`` seeds another organization and hands the same login
``sso:configure`` on it too: an admin of several organizations then picks one
with ``PUT /api/v1/scim/session-organization``.

Stdout carries only shell-sourceable lines, so
``eval "$(python manage.py seed_demo)"`` works; everything else goes to stderr.
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

from axon_scim.models import CustomAttribute, Organization, Role, ScimGroup
from axon_scim.services import Actor, create_group, declare_custom_attribute, issue_token, save_role
from portal_demo.models import DemoLogin

DEFAULT_SLUG = "demo"
DEFAULT_NAME = "Demo Organization"
USERNAME = "demo-admin"
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
        if not Role.objects.for_tenant(organization).filter(name=name).exists():
            permissions = Permission.objects.filter(
                content_type__app_label="axon_scim", codename__in=codenames
            )
            save_role(
                organization,
                ACTOR,
                None,
                name=name,
                description=description,
                permissions=permissions,
            )
    for display_name in DEMO_GROUPS:
        exists = ScimGroup.objects.for_tenant(organization).filter(
            display_name_lower=display_name.lower()
        )
        if not exists.exists():
            create_group(organization, ACTOR, {"displayName": display_name})


def demo_login(username: str, password: str) -> tuple[Any, bool]:
    """The demo's own login with a new password, created on first use, and whether it was.

    Raises ``CommandError`` for an account of that name that seed_demo did not
    create: a host's account is never reset or promoted.
    """
    user_model = get_user_model()
    lookup = {user_model.USERNAME_FIELD: username}
    existing = user_model._default_manager.filter(**lookup).first()
    if existing is not None and not DemoLogin.objects.filter(account=existing).exists():
        raise CommandError(
            f"A login named {username!r} exists and was not created by seed_demo; it is "
            "left untouched. Pass --username to give the demo a login of its own."
        )
    created = existing is None
    user = user_model(**lookup) if existing is None else existing
    # Staff and superuser so the same login also opens the Django admin.
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    if created:
        DemoLogin.objects.create(account=user)
    return user, created


class Command(BaseCommand):
    help = (
        "Create or reuse the demo organization and the demo's own admin login; "
        "print a new token and password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org", default=DEFAULT_SLUG, metavar="SLUG", help="organization slug (default: demo)"
        )
        parser.add_argument(
            "--username",
            default=USERNAME,
            metavar="NAME",
            help=f"the demo's login, created by this command (default: {USERNAME})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["org"]
        username: str = options["username"]
        try:
            validate_slug(slug)
        except ValidationError:
            raise CommandError(f"{slug!r} is not a valid organization slug.") from None
        if not username.strip():
            raise CommandError("--username must not be blank.")
        password = secrets.token_urlsafe(18)
        with transaction.atomic():
            user, user_created = demo_login(username, password)
            name = DEFAULT_NAME if slug == DEFAULT_SLUG else slug.replace("-", " ").title()
            organization, org_created = Organization.objects.get_or_create(
                slug=slug, defaults={"name": name}
            )
            # Superusers pass has_perm anyway; the explicit grant is what a
            # non-superuser portal admin would hold, so the demo shows it.
            assign_perm("configure_sso", user, organization)
            _token, secret = issue_token(organization, ACTOR, label=f"demo token for {username}")
            seed_roles_and_groups(organization)
            # Custom attributes of the organization's own, to try in SCIM at once.
            for kind, name in (("User", "region"), ("Group", "costCenter")):
                declared = CustomAttribute.objects.for_tenant(organization)
                if not declared.filter(resource_type=kind, name=name).exists():
                    declare_custom_attribute(organization, ACTOR, name=name, resource_type=kind)

        self.stderr.write(
            f"{'Created' if org_created else 'Reusing'} organization {slug!r}; "
            f"{'created' if user_created else 'reset the password of'} the demo login "
            f"{username!r}; issued a new SCIM token."
        )
        for key, value in (
            ("ORG_SLUG", organization.slug),
            ("SCIM_TOKEN", secret),
            ("PORTAL_USERNAME", user.get_username()),
            ("PORTAL_PASSWORD", password),
        ):
            self.stdout.write(f"{key}={shlex.quote(value)}")
