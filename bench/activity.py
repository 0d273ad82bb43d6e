"""Times the admin's "SCIM activity" page for a large organization on PostgreSQL.

    python -m bench.activity [--users 100000] [--events 1000000] [--spread-days 30] [--runs 7]

Seeds (with COPY, once per set of parameters) a database of its own,
``axon_bench_activity``: one organization with ``--users`` SCIM users (half of
them in 1,000 groups, 300 of them mapped to a role), ``--events`` audit events
spread evenly over the last ``--spread-days`` days (30 puts every one of them
in the chart's window, the worst case), 3 tokens and the 1,000 kept failures;
a second organization gets a tenth of each, so every query must pick its
tenant's rows out of the tables. Then it signs a superuser in with Django's
test client, renders the page ``--runs`` times and prints the timings, the
query count and the plan of the per-day aggregate. Needs PostgreSQL at
127.0.0.1:5432 (user postgres, trust), like the rest of ``bench/``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from bench.seed import (
    log,
    migrate,
    model_copy,
    read_marker,
    recreate_database,
    setup_django,
    skip_fk_checks,
    write_marker,
)

DB_NAME = os.environ.get("BENCH_ACTIVITY_DB", "axon_bench_activity")
SEED_VERSION = 1
ACTIONS = (
    ("user.created", 20),
    ("user.updated", 30),
    ("user.deactivated", 3),
    ("user.deleted", 1),
    ("group.updated", 25),
    ("role.granted", 10),
    ("role.revoked", 5),
    ("token.created", 1),
)
ACTION_CYCLE = [action for action, weight in ACTIONS for _ in range(weight)]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--spread-days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    return parser.parse_args(argv)


def seed(args: argparse.Namespace) -> None:
    """Two organizations: the measured one, and a tenth of it beside it."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        skip_fk_checks(cursor)
        seed_organization(cursor, "measured", args.users, args.events, args.spread_days)
        seed_organization(
            cursor, "neighbour", args.users // 10, args.events // 10, args.spread_days
        )
        write_marker(cursor, params(args))
    with connection.cursor() as cursor:
        log("VACUUM ANALYZE")
        cursor.execute("VACUUM ANALYZE")


def seed_organization(cursor: Any, slug: str, users: int, events: int, days: int) -> None:
    from axon_scim.models import (
        AuditEvent,
        Organization,
        Role,
        ScimGroup,
        ScimMembership,
        ScimRequestFailure,
        ScimUser,
    )
    from axon_scim.services import issue_token

    organization = Organization.objects.create(slug=slug, name=slug.title())
    role = Role.objects.create(organization=organization, name="Engineer")
    tokens = [issue_token(organization, label=f"idp {n}")[0] for n in range(3)]
    user_ids = [uuid.uuid4() for _ in range(users)]
    log(f"{slug}: {users:,} users, {events:,} events")
    model_copy(cursor, ScimUser, _users(organization.pk, user_ids), users)
    group_ids = [uuid.uuid4() for _ in range(1000)]
    model_copy(cursor, ScimGroup, _groups(organization.pk, group_ids, role.pk), len(group_ids))
    members = users // 2
    model_copy(
        cursor,
        ScimMembership,
        (
            {"organization_id": organization.pk, "group_id": group_ids[i % 1000], "user_id": uid}
            for i, uid in enumerate(user_ids[:members])
        ),
        members,
    )
    model_copy(cursor, AuditEvent, _events(organization.pk, events, days), events)
    model_copy(
        cursor,
        ScimRequestFailure,
        (
            {
                "organization_id": organization.pk,
                "token_id": tokens[i % 3].pk,
                "method": "PATCH",
                "path": f"/scim/v2/Groups/{group_ids[i % 1000]}",
                "status": 400,
                "scim_type": "invalidValue",
                "detail": "A member is not a user or group of this organization.",
            }
            for i in range(1000)
        ),
        1000,
    )


def _users(organization_id: int, user_ids: list[uuid.UUID]) -> Iterator[dict[str, Any]]:
    for i, uid in enumerate(user_ids):
        name = f"user{i:06d}@example.com"
        yield {
            "id": uid,
            "organization_id": organization_id,
            "user_name": name,
            "user_name_lower": name,
            "active": i % 10 != 0,
            "display_name": f"User {i}",
        }


def _groups(organization_id: int, group_ids: list[uuid.UUID], role_id: int) -> Iterator[dict]:
    for g, gid in enumerate(group_ids):
        name = f"Group {g:04d}"
        yield {
            "id": gid,
            "organization_id": organization_id,
            "display_name": name,
            "display_name_lower": name.lower(),
            "role_id": role_id if g < 300 else None,
        }


def _events(organization_id: int, events: int, days: int) -> Iterator[dict[str, Any]]:
    from django.utils.timezone import now

    end = now()
    step = timedelta(days=days) / max(events, 1)
    for i in range(events):
        yield {
            "organization_id": organization_id,
            "time": end - step * (events - i),
            "action": ACTION_CYCLE[i % len(ACTION_CYCLE)],
            "resource_type": "User",
            "resource_id": str(i),
            "actor_type": "token",
            "actor_label": "idp 0",
        }


def params(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "version": SEED_VERSION,
        "users": args.users,
        "events": args.events,
        "spread_days": args.spread_days,
        # Events are spread back from the seeding time: reseed on another day.
        "day": datetime.now().date().isoformat(),
    }


def measure(runs: int) -> dict[str, Any]:
    """Render the page ``runs`` times as a signed-in superuser; timings in milliseconds."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from axon_scim.models import Organization

    organization = Organization.objects.get(slug="measured")
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin)
    url = f"/admin/axon_scim/organization/{organization.pk}/activity/"
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return {
        "runs_ms": [round(t) for t in timings],
        "median_ms": round(statistics.median(timings)),
        "first_ms": round(timings[0]),
        "queries": len(queries),
        "bars": response.content.count(b'class="bar"'),
    }


def daily_plan() -> str:
    """EXPLAIN ANALYZE of the per-day aggregate, the page's heaviest query."""
    from django.db import connection

    from axon_scim.activity import daily_counts
    from axon_scim.models import Organization

    organization = Organization.objects.get(slug="measured")
    captured: list[str] = []

    def explain(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "GROUP BY" in sql and not sql.startswith("EXPLAIN") and not captured:
            execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params, many, context)
            captured.extend(row[0] for row in context["cursor"].fetchall())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        daily_counts(organization)
    return "\n".join(captured)


def main(argv: list[str]) -> int:
    args = parse(argv)
    os.environ["BENCH_DB_NAME"] = DB_NAME
    if read_marker(DB_NAME) == params(args):
        log(f"{DB_NAME}: reusing the seeded database")
        setup_django("bench.settings_ours")
        migrate()
    else:
        log(f"{DB_NAME}: (re)creating and seeding")
        recreate_database(DB_NAME)
        setup_django("bench.settings_ours")
        migrate()
        started = time.monotonic()
        seed(args)
        log(f"seeded in {time.monotonic() - started:.0f}s")
    result = measure(args.runs)
    print(f"SCIM activity page, {args.users:,} users, {args.events:,} events over the last")
    print(f"{args.spread_days} days: median {result['median_ms']} ms over {args.runs} runs")
    print(f"(first {result['first_ms']} ms; all {result['runs_ms']}), {result['queries']} queries,")
    print(f"{result['bars']} bars drawn.\n\nThe per-day aggregate:\n{daily_plan()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
