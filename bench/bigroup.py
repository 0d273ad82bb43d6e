"""S8b: read a group of 1,000,000 members whole, and watch the worker's memory.

    python -m bench.run --only S8b --skip-djscim2     (or any FULL run of every scenario)

Issue 12 asks that ``GET /Groups/{id}`` of a 1,000,000-member group grow a
worker's RSS by less than 50 MB: the members are streamed from a PostgreSQL
cursor, never held whole. The group lives in a database of its own (the
bench database's name with ``_bigroup``), so its million users weigh on no
other scenario; it is seeded once, by COPY, and reused while its marker
holds. A gunicorn server of its own (2 sync workers) serves it. The group is
read ``REQUESTS`` times, one request at a time, by axon-scim and then by the
floor (which streams the same way); each worker's peak RSS is reset before an
implementation's requests and read after them.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.config import OURS_DB, PG_BASE
from bench.servers import Server

if TYPE_CHECKING:  # bench.extras imports this module
    from bench.extras import Context

MEMBERS = 1_000_000
REQUESTS = 3
TARGET_MB = 50
SLUG = "bench-m"
DB = f"{OURS_DB}_bigroup"
ROOT = Path(__file__).resolve().parent.parent


def _marker(dbname: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(f"{PG_BASE}/{dbname}", connect_timeout=5) as conn:
            row = conn.execute("SELECT members FROM bench_bigroup").fetchone()
            return int(row[0]) if row else None
    except psycopg.Error:
        return None


def seed(out: str) -> None:
    """Seed (unless the marker holds) and write the token and ids to ``out``; run by ``run``."""
    from bench.seed import log, migrate, recreate_database, setup_django

    os.environ["BENCH_DB_NAME"] = DB
    started = time.monotonic()
    reused = _marker(DB) == MEMBERS
    if not reused:
        log(f"{DB}: (re)creating with one group of {MEMBERS:,} members")
        recreate_database(DB)
    setup_django("bench.settings_ours")
    migrate()
    if not reused:
        _seed_rows()
    from axon_scim.models import Organization
    from axon_scim.services import issue_token
    from bench import data

    org = Organization.objects.get(slug=SLUG)
    _, secret = issue_token(org, label="bench S8b")
    fixtures = {
        "token": secret,
        "org_id": org.pk,
        "group_id": str(data.big_group_uuid(SLUG)),
        "reused": reused,
        "seconds": round(time.monotonic() - started, 1),
    }
    Path(out).write_text(json.dumps(fixtures))


def _seed_rows() -> None:
    from django.db import connection, transaction

    from axon_scim.models import Organization, ScimGroup, ScimMembership, ScimUser
    from bench import data
    from bench.seed import log, model_copy, skip_fk_checks

    with transaction.atomic(), connection.cursor() as cursor:
        skip_fk_checks(cursor)
        org = Organization.objects.create(slug=SLUG, name="Bench M")
        log(f"organization {SLUG}: {MEMBERS:,} users")
        model_copy(cursor, ScimUser, (_user(org.pk, i) for i in range(MEMBERS)), MEMBERS)
        group = data.big_group_uuid(SLUG)
        ScimGroup.objects.create(
            id=group, organization=org, display_name="Everyone", external_id="ext-everyone"
        )
        model_copy(
            cursor,
            ScimMembership,
            (
                {
                    "organization_id": org.pk,
                    "group_id": group,
                    "user_id": data.user_uuid(SLUG, i),
                    "member_group_id": None,
                    "created": data.EPOCH,
                }
                for i in range(MEMBERS)
            ),
            MEMBERS,
        )
        cursor.execute("CREATE TABLE bench_bigroup (members integer NOT NULL)")
        cursor.execute("INSERT INTO bench_bigroup VALUES (%s)", [MEMBERS])
    with connection.cursor() as cursor:
        log("ANALYZE")
        cursor.execute("ANALYZE")


def _user(org_id: int, i: int) -> dict[str, Any]:
    from bench import data

    name = data.user_name(SLUG, i)
    return {
        "id": data.user_uuid(SLUG, i),
        "organization_id": org_id,
        "account_id": None,
        "user_name": name,
        "user_name_lower": name.lower(),
        "active": True,
        "display_name": f"{data.given_name(i)} {data.family_name(i)}",
        "version": 1,
        "created": data.created(i),
        "last_modified": data.created(i),
    }


def _read(port: int, path: str, headers: dict[str, str]) -> tuple[float, int, int, int]:
    """One GET, its body read in pieces: seconds, status, bytes, and members counted."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        size = members = 0
        carry = b""
        while piece := response.read(1 << 20):
            size += len(piece)
            text = carry + piece
            members += text.count(b'"$ref"')
            carry = text[-5:]  # a token cut in two is counted once, in the next piece
        return time.perf_counter() - started, response.status, size, members
    finally:
        conn.close()


def _measure(server: Any, port: int, path: str, headers: dict[str, str]) -> dict[str, Any]:
    from bench.run import peak_rss, reset_peak_rss

    baseline = reset_peak_rss(server)
    samples = [_read(port, path, headers) for _ in range(REQUESTS)]
    peak, growth = peak_rss(baseline)
    seconds = [s[0] for s in samples]
    return {
        "requests": REQUESTS,
        "p50_ms": round(statistics.median(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "statuses": sorted({s[1] for s in samples}),
        "bytes": samples[0][2],
        "members": samples[0][3],
        "rss_mb": peak,
        "rss_growth_mb": growth,
    }


def run(ctx: Context) -> dict[str, Any] | None:
    """Seed, serve and read the group. It seeds a million users, so ``bench.extras`` runs
    it only when ``--only`` names S8b, or in a FULL run of every scenario."""
    say = ctx.say

    say(f"== S8b: one group of {MEMBERS:,} members, read whole (database {DB})")
    out = Path(f"/tmp/axon-bench-bigroup-{os.getpid()}.json")
    subprocess.run(
        [sys.executable, "-m", "bench.bigroup", str(out)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    fixtures = json.loads(out.read_text())
    out.unlink()
    server = Server("axon-scim (S8b)", "bench.settings_ours", DB)
    try:
        headers = {"Accept": "application/scim+json", "Connection": "close"}
        ours_headers = {**headers, "Authorization": f"Bearer {fixtures['token']}"}
        server.wait_ready("/scim/v2/ServiceProviderConfig", ours_headers)
        group = fixtures["group_id"]
        result: dict[str, Any] = {"members": MEMBERS, "seeding": fixtures["seconds"]}
        for name, path, sent in (
            ("ours", f"/scim/v2/Groups/{group}", ours_headers),
            ("floor", f"/floor/Groups/{group}?org={fixtures['org_id']}", headers),
        ):
            result[name] = _measure(server, server.port, path, sent)
            say(
                f"  S8b {name}: p50 {result[name]['p50_ms']:,} ms, {result[name]['members']:,}"
                f" members, {result[name]['bytes']:,} bytes, RSS growth"
                f" {result[name]['rss_growth_mb']} MB"
            )
    finally:
        server.stop()
    return result


def markdown(result: dict[str, Any]) -> list[str]:
    """The S8b section of the results page."""
    lines = [
        f"## S8b: one group of {result['members']:,} members, read whole (issue 12)",
        "",
        f"`GET /Groups/{{id}}`, {REQUESTS} requests one at a time, on a server and database"
        " of their own. RSS growth is the largest worker's peak over its size before.",
        "",
        "| impl | p50 ms | max ms | members | bytes | peak RSS MB | RSS growth MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("ours", "axon-scim"), ("floor", "floor")):
        found = result[name]
        lines.append(
            f"| {label} | {found['p50_ms']:,} | {found['max_ms']:,} | {found['members']:,}"
            f" | {found['bytes']:,} | {found['rss_mb']} | {found['rss_growth_mb']} |"
        )
    return [*lines, ""]


def target(result: dict[str, Any]) -> dict[str, Any]:
    """Issue 12's target: every member sent, and a worker grows by less than 50 MB."""
    ours = result["ours"]
    growth = ours["rss_growth_mb"]
    complete = ours["statuses"] == [200] and ours["members"] == result["members"]
    met = complete and growth is not None and growth < TARGET_MB
    return {
        "id": "S8b",
        "met": met,
        "measured": f"{growth} MB, p50 {ours['p50_ms']:,.0f} ms"
        f" (floor {result['floor']['p50_ms']:,.0f} ms)",
        "gap": f"{growth} MB" if complete else f"sent {ours['members']:,} members",
    }


if __name__ == "__main__":
    seed(sys.argv[1])
