"""``manage.py create_scim_token ORG_SLUG``: issue a SCIM bearer token from a script.

The secret is printed once, alone on the last line of stdout, so scripts can
take it with ``tail -n 1``; only its hash is stored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug
from django.utils.timezone import now

from axon_scim.models import Organization
from axon_scim.services import Actor, issue_token

ACTOR = Actor(label="manage.py create_scim_token")


class Command(BaseCommand):
    help = "Create a SCIM bearer token for an organization and print it on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org_slug", metavar="ORG_SLUG", help="slug of the organization")
        parser.add_argument("--label", default="", help="a name telling this token apart")
        parser.add_argument(
            "--create-org",
            action="store_true",
            help="create the organization if it does not exist",
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            metavar="N",
            help="the token stops working N days from now (default: never)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["org_slug"]
        expires_days: int | None = options["expires_days"]
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be a positive number of days.")

        organization = self._organization(slug, create=options["create_org"])
        expires = now() + timedelta(days=expires_days) if expires_days is not None else None
        token, secret = issue_token(organization, ACTOR, label=options["label"], expires=expires)

        self.stdout.write(f"Organization: {organization.slug} ({organization.name})")
        self.stdout.write(f"Token prefix: {token.prefix}  label: {token.label or '-'}")
        self.stdout.write(f"Expires: {token.expires.isoformat() if token.expires else 'never'}")
        self.stdout.write("The secret below is shown once and cannot be recovered:")
        self.stdout.write(secret)

    def _organization(self, slug: str, *, create: bool) -> Organization:
        """The organization with this slug, created only when asked to."""
        if create:
            try:
                validate_slug(slug)
            except ValidationError:
                raise CommandError(f"{slug!r} is not a valid organization slug.") from None
            organization, created = Organization.objects.get_or_create(
                slug=slug, defaults={"name": slug.replace("-", " ").title()}
            )
            if created:
                self.stderr.write(f"Created organization {slug!r}.")
            return organization
        try:
            return Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(
                f"No organization with slug {slug!r}; pass --create-org to create it."
            ) from None
