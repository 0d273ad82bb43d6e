"""S2c: a custom-attribute ``eq`` filter, its seeding and the plans of S2's and S2c's SQL.

Organization B (``bench-b``) declares its own attribute ``costCenter`` (a
string) and every one of its users holds one value, unique per user, so an
``eq`` filter matches one user as S2's email lookup does. It is B's, not A's:
an organization with custom attributes reads their rows with every user it
renders (one statement more), and S1..S9 measure A without any of its own
(a host-declared extension in the settings reads them for every organization).

The rows are added by ``seed_values`` when missing, so a database seeded
before S2c is upgraded in place (COPY, a second at 100,000 users).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import psycopg

from bench import data
from bench.config import ORG_SLUGS, PG_BASE

SLUG = ORG_SLUGS[1]
NAME = "costCenter"
URN = f"urn:ietf:params:scim:schemas:extension:{SLUG}:2.0:User"
KEY = f"{URN}:{NAME}"
# The header that asks the bench middleware for the request's SQL (``bench.querycount``).
SQL_HEADER = "X-Bench-Sql"


def value(i: int) -> str:
    """User ``i``'s cost centre: unique, so an ``eq`` filter matches one user."""
    return f"CC-{i:06d}"


def seed_values(users: int) -> None:
    """Declare ``costCenter`` for organization B and COPY one value per user, when missing."""
    from django.db import connection, transaction

    from axon_scim.audit import SYSTEM
    from axon_scim.extension_models import CustomAttribute, ScimExtensionValue
    from axon_scim.models import Organization, value_digest
    from axon_scim.services import declare_custom_attribute
    from bench.seed import log, model_copy, skip_fk_checks

    org = Organization.objects.get(slug=SLUG)
    if not CustomAttribute.objects.filter(organization=org, name_lower=NAME.lower()).exists():
        declare_custom_attribute(org, SYSTEM, name=NAME, type="string")
    values = ScimExtensionValue.objects.filter(organization=org, key=KEY)
    if values.count() == users:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        skip_fk_checks(cursor)
        values.delete()
        model_copy(
            cursor,
            ScimExtensionValue,
            (
                {
                    "organization_id": org.pk,
                    "user_id": data.user_uuid(SLUG, i),
                    "group_id": None,
                    "key": KEY,
                    "position": 0,
                    "text": value(i),
                    "text_lower": value(i).lower(),
                    "value_digest": value_digest(value(i)),
                }
                for i in range(users)
            ),
            users,
        )
    log("ANALYZE of the custom attribute values")
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{ScimExtensionValue._meta.db_table}"')


def captured_sql(headers: Any) -> list[str]:
    """The statements a response's ``X-Bench-Sql`` header carries (base64 JSON)."""
    raw = headers.get(SQL_HEADER)
    return json.loads(base64.b64decode(raw)) if raw else []


def explain(dbname: str, statements: list[str]) -> str | None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement that filters (the one with EXISTS)."""
    found = [sql for sql in statements if "EXISTS" in sql.upper()]
    if not found:
        return None
    with psycopg.connect(f"{PG_BASE}/{dbname}") as conn:
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {found[0]}").fetchall()  # type: ignore[call-overload]
        conn.rollback()
    return "\n".join(row[0] for row in rows)


def markdown(plans: dict[str, dict[str, Any]]) -> list[str]:
    """The "Plans" section: each scenario's filtering statement and its plan."""
    lines = [
        "## Plans",
        "",
        "EXPLAIN (ANALYZE, BUFFERS) of the statement that filters, as axon-scim issued it "
        "for one request of each scenario (captured by the bench middleware), run again on "
        "the bench database after the load. Both must be Index Scans, no Seq Scan.",
        "",
    ]
    for key, plan in plans.items():
        lines += [f"### {key}: `{plan['filter']}`", "", "```sql", plan["sql"], "```", ""]
        lines += ["```", plan["plan"] or "(no filtering statement captured)", "```", ""]
    return lines
