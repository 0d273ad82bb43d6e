"""Organizations that S10's import and S12 add to axon-scim's bench database.

    python -m bench.tenants contention MODE OUT.json   # S12's 16 organizations, tokens
    python -m bench.tenants import MODE OUT.json       # a fresh organization and its token
    python -m bench.tenants drop MODE ORG_ID OUT.json  # count an import's rows, then drop it

Run in a subprocess (it sets Django up on the bench settings). S12's
organizations are seeded once by COPY, as ``bench.seed`` seeds the main two,
and reused while they exist; an import's organization is dropped after it is
counted (and any an interrupted run left behind, before the next import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import Sizes, db_name, sizes
from bench.seed import log, seed_our_org, setup_django, skip_fk_checks
from bench.servers import ROOT

CONTENTION_ORGS = 16
# Each of S12's organizations: a few thousand users, 200 groups of 10 (each user in one).
CONTENTION = Sizes(
    "contention",
    users=2_000,
    small_groups=200,
    group_size=10,
    requests=0,
    time_limit=0,
    sync_time_limit=0,
)
IMPORT_PREFIX = "bench-import-"


def contention_slug(k: int) -> str:
    return f"bench-c{k:02d}"


def contention() -> dict[str, Any]:
    """S12's organizations (seeded when missing) and a fresh token for each."""
    from django.db import connection, transaction

    from axon_scim.models import Organization
    from axon_scim.services import issue_token

    slugs = [contention_slug(k) for k in range(CONTENTION_ORGS)]
    if Organization.objects.filter(slug__in=slugs).count() != len(slugs):
        _drop(list(Organization.objects.filter(slug__in=slugs).values_list("pk", flat=True)))
        with transaction.atomic(), connection.cursor() as cursor:
            skip_fk_checks(cursor)
            for slug in slugs:
                org = Organization.objects.create(slug=slug, name=f"Bench {slug}")
                seed_our_org(cursor, slug, org.pk, CONTENTION, big=False)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    orgs = {org.slug: org for org in Organization.objects.filter(slug__in=slugs)}
    return {
        "users": CONTENTION.users,
        "groups": CONTENTION.small_groups,
        "group_size": CONTENTION.group_size,
        "orgs": [
            {
                "slug": slug,
                "org_id": orgs[slug].pk,
                "token": issue_token(orgs[slug], label="s12")[1],
            }
            for slug in slugs
        ],
    }


def fresh() -> dict[str, Any]:
    """A new, empty organization and its token, after dropping earlier imports' ones."""
    from axon_scim.models import Organization
    from axon_scim.services import issue_token

    leftovers = Organization.objects.filter(slug__startswith=IMPORT_PREFIX)
    _drop(list(leftovers.values_list("pk", flat=True)))
    slug = IMPORT_PREFIX + time.strftime("%H%M%S") + f"-{os.getpid()}"
    org = Organization.objects.create(slug=slug, name="Bench import")
    return {"slug": slug, "org_id": org.pk, "token": issue_token(org, label="import")[1]}


def count_and_drop(org_id: int) -> dict[str, Any]:
    """What an import left in the database (users, accounts, audit events), then drop it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(account_id), count(DISTINCT user_name_lower)"
            " FROM axon_scim_scimuser WHERE organization_id = %s",
            [org_id],
        )
        users, accounts, names = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM axon_scim_auditevent WHERE organization_id = %s", [org_id]
        )
        events = cursor.fetchone()[0]
    started = time.monotonic()
    _drop([org_id])
    return {
        "users": users,
        "accounts": accounts,
        "distinct_user_names": names,
        "audit_events": events,
        "drop_seconds": round(time.monotonic() - started, 1),
    }


def _drop(org_ids: list[int]) -> None:
    """Delete organizations with every row of theirs: each table with an organization_id,
    the SCIM users' portal accounts and what references those, by plain DELETEs (the
    foreign-key triggers are skipped: the ORM's cascade would walk 100,000 users in Python)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    if not org_ids:
        return
    accounts = get_user_model()._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        skip_fk_checks(cursor)
        cursor.execute(
            "CREATE TEMP TABLE gone ON COMMIT DROP AS SELECT account_id AS id"
            " FROM axon_scim_scimuser WHERE organization_id = ANY(%s) AND account_id IS NOT NULL",
            [org_ids],
        )
        cursor.execute(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " WHERE c.contype = 'f' AND c.confrelid = %s::regclass",
            [accounts],
        )
        for table, column in cursor.fetchall():
            cursor.execute(f'DELETE FROM {table} WHERE "{column}" IN (SELECT id FROM gone)')
        cursor.execute(f'DELETE FROM "{accounts}" WHERE id IN (SELECT id FROM gone)')
        cursor.execute(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_name = 'organization_id'"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DELETE FROM "{table}" WHERE organization_id = ANY(%s)', [org_ids])
        cursor.execute("DELETE FROM axon_scim_organization WHERE id = ANY(%s)", [org_ids])
    log(f"dropped organizations {org_ids}")


def call(command: str, mode: str, workdir: Path, *args: str) -> dict[str, Any]:
    """Run one command of this module in a subprocess (from the orchestrator); its answer."""
    out = workdir / f"tenants-{command}.json"
    subprocess.run(
        [sys.executable, "-m", "bench.tenants", command, mode, *args, str(out)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return dict(json.loads(out.read_text()))


def main(argv: list[str]) -> int:
    command, mode, *rest = argv
    os.environ["BENCH_DB_NAME"] = db_name("ours", sizes(mode == "full").mode)
    setup_django("bench.settings_ours")
    if command == "contention":
        found = contention()
    elif command == "import":
        found = fresh()
    else:
        found = count_and_drop(int(rest.pop(0)))
    with open(rest[0], "w") as handle:
        json.dump(found, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
