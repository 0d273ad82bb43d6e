"""``manage.py verify_scim_state [ORG_SLUG]``: check the invariants every interleaving must keep.

``axon_scim.invariants.verify_state`` checks one organization at a time, in
batches, and stops at its first discrepancy. The command prints one line per
organization, either ``ok`` with what it read or ``BROKEN`` with the
invariant, the resource and what differs, and exits non-zero when any
organization is broken, so it can run from cron or CI beside
``verify_scim_audit``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from axon_scim.invariants import BATCH, INVARIANTS, StateCheck, verify_state
from axon_scim.models import Organization


def describe(check: StateCheck) -> str:
    """One line telling how an organization fared."""
    if check.discrepancy is not None:
        return f"BROKEN: {check.discrepancy}"
    counts = check.counts
    return (
        f"ok: {counts['users']} users, {counts['groups']} groups, "
        f"{counts['deleted']} deleted users, {counts['accounts']} accounts with roles"
    )


class Command(BaseCommand):
    help = (
        "Verify the SCIM state invariants of one organization, or of all of them: "
        + "; ".join(f"{name}: {text}" for name, text in INVARIANTS.items())
        + "."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "org_slug", nargs="?", metavar="ORG_SLUG", help="only this organization (default: all)"
        )
        parser.add_argument(
            "--batch-size", type=int, default=BATCH, help=f"rows per query (default {BATCH})"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str | None = options["org_slug"]
        organizations = Organization.objects.order_by("slug")
        if slug is not None:
            organizations = organizations.filter(slug=slug)
            if not organizations.exists():
                raise CommandError(f"No organization with slug {slug!r}.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        broken = 0
        for organization in list(organizations):
            check = verify_state(organization, batch_size=options["batch_size"])
            broken += not check.ok
            self.stdout.write(f"{organization.slug}: {describe(check)}")
        if broken:
            noun = "organization" if broken == 1 else "organizations"
            raise CommandError(f"{broken} {noun} with inconsistent SCIM state.")
