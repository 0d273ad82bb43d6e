"""S10: one Bulk of 1,000 user creations against the same 1,000 users sent as single POSTs.

    python -m bench.run --only S10 --skip-djscim2

(``--only S10`` runs the 100,000-user import of ``bench.bulk_import`` as well.)

Issue 9 asks that a Bulk of 1,000 user creations finish in under 10 s on the
benchmark machine. The same 1,000 bodies (Okta's create body, as S4 sends
it), each time under new userNames, are sent three ways:

- ``bulk``: one ``POST /Bulk`` of 1,000 POST operations, timed end to end;
- ``single``: 1,000 ``POST /Users``, one after another from one client: the
  requests the Bulk stands for;
- ``single x4``: the same at concurrency 4, as an IdP pushes in parallel.

Nothing is put back: the users carry S4's ``new-`` prefix, which the next
run's seeding removes.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.config import ORG_SLUGS
from bench.scenarios import okta_user

COUNT = 1_000
TARGET_SECONDS = 10.0
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SLUG = ORG_SLUGS[0]


def _bodies(tag: str) -> list[dict[str, Any]]:
    run = time.strftime("%H%M%S")
    return [okta_user(f"new-{tag}{run}-{k}@{SLUG}.example.com", k, run) for k in range(COUNT)]


def send(
    port: int, token: str, path: str, body: Any, method: str = "POST"
) -> tuple[float, int, bytes, float]:
    """One request: seconds, status, body, and the SQL queries it ran (X-Bench-Queries)."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/scim+json",
        "Content-Type": "application/scim+json",
        "Connection": "close",
    }
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request(method, "/scim/v2" + path, body=json.dumps(body).encode(), headers=headers)
        response = conn.getresponse()
        content = response.read()
        queries = float(response.getheader("X-Bench-Queries") or 0)
        return time.perf_counter() - started, response.status, content, queries
    finally:
        conn.close()


def _bulk(port: int, token: str) -> dict[str, Any]:
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{k}", "data": body}
        for k, body in enumerate(_bodies("bulk"))
    ]
    request = {"schemas": [BULK_REQUEST], "Operations": operations}
    seconds, status, content, queries = send(port, token, "/Bulk", request)
    results = json.loads(content).get("Operations", []) if status == 200 else []
    statuses: dict[str, int] = {}
    for result in results:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    return {
        "seconds": round(seconds, 2),
        "status": status,
        "operations": statuses,
        "bytes": len(json.dumps(request)),
        "queries_per_operation": round(queries / COUNT, 1),
    }


def _singles(port: int, token: str, tag: str, concurrency: int) -> dict[str, Any]:
    bodies = _bodies(tag)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        samples = list(pool.map(lambda body: send(port, token, "/Users", body), bodies))
    seconds = time.perf_counter() - started
    statuses: dict[str, int] = {}
    for _, status, _, _ in samples:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "seconds": round(seconds, 2),
        "rps": round(COUNT / seconds, 1),
        "p50_ms": round(statistics.median(s[0] for s in samples) * 1000, 1),
        "statuses": statuses,
        "queries_per_request": round(statistics.mean(s[3] for s in samples), 1),
    }


def run(port: int, token: str, say: Any) -> dict[str, Any]:
    """Time the Bulk, then the single POSTs alone and at concurrency 4."""
    say(f"== S10: one Bulk of {COUNT:,} user creations, then {COUNT:,} single POSTs")
    result = {"bulk": _bulk(port, token)}
    say(f"  S10 one Bulk of {COUNT:,} POSTs: {result['bulk']['seconds']:.2f} s")
    for key, tag, concurrency in (("single", "one", 1), ("single_x4", "four", 4)):
        result[key] = _singles(port, token, tag, concurrency)
        say(f"  S10 {COUNT:,} single POSTs, concurrency {concurrency}: {result[key]['seconds']} s")
    return result


def markdown(result: dict[str, Any]) -> list[str]:
    """The section of the results page."""
    bulk, single, four = result["bulk"], result["single"], result["single_x4"]
    statuses = ", ".join(f"{n:,} x {s}" for s, n in sorted(bulk["operations"].items()))
    return [
        f"## S10: one Bulk of {COUNT:,} user creations, and the same as single POSTs (issue 9)",
        "",
        "Okta's create body (as S4), new userNames each way, one request at a time.",
        "",
        "| how | seconds | users/s | SQL queries per user | answers |",
        "|---|---:|---:|---:|---|",
        f"| one `POST /Bulk` of {COUNT:,} operations ({bulk['bytes']:,} bytes) |"
        f" {bulk['seconds']:.2f} | {COUNT / bulk['seconds']:,.1f} |"
        f" {bulk['queries_per_operation']} | {bulk['status']}; operations {statuses} |",
        f"| {COUNT:,} `POST /Users`, one client | {single['seconds']:.2f} | {single['rps']:,} |"
        f" {single['queries_per_request']} | {single['statuses']} |",
        f"| {COUNT:,} `POST /Users`, 4 clients | {four['seconds']:.2f} | {four['rps']:,} |"
        f" {four['queries_per_request']} | {four['statuses']} |",
        "",
    ]


def target(result: dict[str, Any]) -> dict[str, Any]:
    """Issue 9's target: every operation created, in under 10 s."""
    bulk = result["bulk"]
    created = bulk["status"] == 200 and bulk["operations"] == {"201": COUNT}
    met = created and bulk["seconds"] < TARGET_SECONDS
    gap = f"{bulk['seconds']:.2f} s" if created else f"answered {bulk['status']}"
    singles = result["single"]["seconds"]
    return {
        "id": "S10",
        "met": met,
        "measured": f"{bulk['seconds']:.2f} s ({singles:.2f} s as single POSTs)",
        "gap": "" if met else gap,
    }
