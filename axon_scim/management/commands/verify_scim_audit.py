"""``manage.py verify_scim_audit [ORG_SLUG]``: check that no audit event was altered or removed.

Each sealed event carries its organization's sequence number, the hash of
the previous event and its own hash; ``axon_scim.audit.verify_chain``
recomputes them. The command prints one line per organization, either
``ok: N events`` or the first broken link, and exits non-zero when any chain
is broken, so it can run from cron or CI.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from axon_scim.audit import ChainCheck, verify_chain
from axon_scim.models import Organization


def events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


def describe(check: ChainCheck) -> str:
    """One line telling how an organization's chain fared."""
    if check.ok:
        return f"ok: {events(check.checked)}"
    where = []
    if check.broken_event_id is not None:
        where.append(f"event {check.broken_event_id}")
    if check.broken_sequence is not None:
        where.append(f"sequence {check.broken_sequence}")
    at = f" at {', '.join(where)}" if where else ""
    return f"BROKEN{at}: {check.reason} ({events(check.checked)} verified before it)"


class Command(BaseCommand):
    help = "Verify the hash chain of the SCIM audit log of one organization, or of all of them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "org_slug", nargs="?", metavar="ORG_SLUG", help="only this organization (default: all)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str | None = options["org_slug"]
        organizations = Organization.objects.order_by("slug")
        if slug is not None:
            organizations = organizations.filter(slug=slug)
            if not organizations.exists():
                raise CommandError(f"No organization with slug {slug!r}.")
        broken = 0
        for organization in list(organizations):
            check = verify_chain(organization)
            broken += not check.ok
            self.stdout.write(f"{organization.slug}: {describe(check)}")
        if broken:
            chains = "chain" if broken == 1 else "chains"
            raise CommandError(f"{broken} audit {chains} broken.")
