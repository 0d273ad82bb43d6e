"""``manage.py scim_portal_openapi [--file PATH]``: the portal API's OpenAPI document as YAML.

The same document ``GET /api/v1/scim/schema`` serves, for the portal API as
this project mounts it. The repository commits it; regenerate it with::

    python manage.py scim_portal_openapi --file docs/portal-api.openapi.yaml

Needs drf-spectacular (the ``openapi`` extra).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Print (or write to --file) the portal API's OpenAPI document as YAML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", help="Write the document to this file instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        if find_spec("drf_spectacular") is None:
            raise CommandError("This needs drf-spectacular: pip install 'axon-scim[openapi]'.")
        from axon_scim.portal_api.openapi import portal_schema, render_yaml

        document = render_yaml(portal_schema()).decode()
        if options["file"]:
            Path(options["file"]).write_text(document, encoding="utf-8")
        else:
            self.stdout.write(document, ending="")
