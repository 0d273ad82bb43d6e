"""``manage.py create_scim_role NAME --perm app.codename ... [--org SLUG] [--description TEXT]``.

Declares a role that group-to-role mappings may grant, so that a new host's
``/api/v1/scim/roles`` is not empty. A role is carried out as guardian object
permissions on the organization, so every ``--perm`` names a permission of
the ``axon_scim.Organization`` model: one it ships (``axon_scim.view_organization``)
or one the host declares on it (docs/integration.md, "Roles").

Without ``--org`` the role is declared in every organization. Running it
again is safe: an existing role of that name gets exactly the permissions
given (and the description, when one is given) through ``services.save_role``,
so its holders follow at once and the change is audited; a role that already
matches is left alone, with no audit event.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError, CommandParser

from axon_scim.models import Organization, Role
from axon_scim.services import Actor, save_role

__all__ = ["Command", "declare_role", "organization_permissions"]

ACTOR = Actor(label="manage.py create_scim_role")


def organization_permissions(labels: list[str]) -> list[Permission]:
    """The permissions named ``app.codename``; each must be one of the Organization model's."""
    content_type = ContentType.objects.get_for_model(Organization)
    found = {
        f"{content_type.app_label}.{permission.codename}": permission
        for permission in Permission.objects.filter(content_type=content_type)
    }
    unknown = [label for label in labels if label not in found]
    if unknown:
        raise CommandError(
            f"Not a permission of axon_scim.Organization: {', '.join(unknown)}. Roles grant "
            "object permissions on the organization; declare new ones on that model "
            f"(see docs/integration.md). Known: {', '.join(sorted(found))}."
        )
    return [found[label] for label in dict.fromkeys(labels)]


def declare_role(
    organization: Organization,
    name: str,
    permissions: list[Permission],
    description: str | None,
) -> str:
    """Create the role or bring it in line; ``created``, ``updated`` or ``unchanged``."""
    role = Role.objects.for_tenant(organization).filter(name=name).first()
    if role is not None:
        same_permissions = set(role.permissions.values_list("pk", flat=True)) == {
            permission.pk for permission in permissions
        }
        if same_permissions and description in (None, role.description):
            return "unchanged"
    save_role(
        organization,
        ACTOR,
        role,
        name=name,
        description=description if description is not None else (role.description if role else ""),
        permissions=permissions,
    )
    return "created" if role is None else "updated"


class Command(BaseCommand):
    help = (
        "Create a role that group mappings may grant, or give an existing one exactly "
        "these permissions, in one organization or in all of them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="the role's name, unique per organization")
        parser.add_argument(
            "--perm",
            dest="perms",
            action="extend",
            nargs="+",
            required=True,
            metavar="APP.CODENAME",
            help="a permission on the organization, e.g. axon_scim.view_organization",
        )
        parser.add_argument(
            "--org",
            dest="orgs",
            action="append",
            metavar="SLUG",
            help="only this organization (repeatable; default: every organization)",
        )
        parser.add_argument("--description", default=None, help="what the role is for")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"].strip()
        description: str | None = options["description"]
        # The lengths of the Role.name and Role.description columns.
        if not 1 <= len(name) <= 100:
            raise CommandError("NAME must be 1 to 100 characters.")
        if description is not None and len(description) > 255:
            raise CommandError("--description must be at most 255 characters.")
        permissions = organization_permissions(options["perms"])
        for organization in self._organizations(options["orgs"]):
            outcome = declare_role(organization, name, permissions, description)
            self.stdout.write(f"{organization.slug}: {outcome} role {name!r}")

    def _organizations(self, slugs: list[str] | None) -> list[Organization]:
        """The organizations named, all of them known, or every organization."""
        if slugs is None:
            organizations = list(Organization.objects.order_by("slug"))
            if not organizations:
                raise CommandError(
                    "There is no organization yet; create one first "
                    "(manage.py create_scim_token SLUG --create-org)."
                )
            return organizations
        found = {o.slug: o for o in Organization.objects.filter(slug__in=slugs)}
        missing = [slug for slug in slugs if slug not in found]
        if missing:
            raise CommandError(f"No organization with slug {', '.join(map(repr, missing))}.")
        return [found[slug] for slug in dict.fromkeys(slugs)]
