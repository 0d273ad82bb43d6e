"""``manage.py scim_access_review ORG_SLUG [--csv | --json]``: who holds which role, and why.

Prints a table by default (one line per user and role, with the groups
granting it and since when), CSV with ``--csv`` for a spreadsheet, or JSON
with ``--json`` (the same objects as the portal API's access review).
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from axon_scim.access_review import ReviewRow, review_rows, rows_as_dicts, write_csv
from axon_scim.models import Organization

TABLE_HEADER = ("userName", "active", "role", "granted by", "since")


def table_lines(rows: list[ReviewRow]) -> list[str]:
    """The rows as aligned text columns, with a header line."""
    cells = [
        (
            row.user_name,
            "yes" if row.active else "no",
            row.role or "-",
            ", ".join(row.granted_by) or "-",
            f"{row.since:%Y-%m-%d %H:%M}" if row.since else "-",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [TABLE_HEADER, *cells]) for i in range(5)]
    return [
        "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        for line in [TABLE_HEADER, *cells]
    ]


class Command(BaseCommand):
    help = (
        "Every SCIM user of an organization with each role, the groups granting it and since when."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org_slug", metavar="ORG_SLUG", help="slug of the organization")
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--csv", action="store_true", help="print CSV instead of a table")
        output.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["org_slug"]
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organization with slug {slug!r}.")
        rows = review_rows(organization)
        if options["csv"]:
            buffer = io.StringIO()
            write_csv(rows, buffer)
            self.stdout.write(buffer.getvalue(), ending="")
        elif options["json"]:
            self.stdout.write(json.dumps(rows_as_dicts(rows), indent=2))
        else:
            for line in table_lines(rows):
                self.stdout.write(line)
