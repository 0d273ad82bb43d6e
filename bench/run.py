"""Orchestrates a benchmark run: seed, serve, drive, report.

    python -m bench.run [--full] [--only S1,S3,L] [--skip-djscim2]

1. seeds (or reuses) the bench databases, one process per implementation;
2. starts two gunicorn servers with 2 sync workers each on free 127.0.0.1
   ports (``bench.servers``): axon-scim (with the floor views under /floor/)
   and django-scim2;
3. for each scenario S1..S9, checks one response of each implementation, then
   runs the load generator (a separate process) against each in turn,
   resetting and reading the workers' peak RSS around it;
4. runs the extra scenarios of ``bench.extras.EXTRAS`` against axon-scim: the
   cursor walk (S11), the heaviest requests inside the limits ("L"), Bulk
   (S10 and the 100,000-user import), one organization under 16 writers (S12);
5. prints the Markdown table and writes bench/results/latest.md and .json.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import custom_attr, data, report
from bench.config import ORG_SLUGS, Sizes, db_name, sizes
from bench.extras import EXTRAS, Context
from bench.machine import code_version, machine
from bench.scenarios import SCENARIOS, Scenario, Target, parse_body
from bench.servers import (
    ROOT,
    WORKERS,
    Server,
    peak_rss,
    request,
    reset_peak_rss,
    say,
    seed,
)

RESULTS = ROOT / "bench" / "results"
# Each scenario runs in rounds that alternate the implementations, except the
# long ones (a full sync; whole 100,000-member groups) that run once.
ROUNDS = 3
SINGLE_ROUND = ("S8", "S9")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="100,000 users per organization")
    parser.add_argument(
        "--only", default="", help="comma-separated scenarios, e.g. S1,S3,L,S10,S11,S12"
    )
    parser.add_argument("--skip-djscim2", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    parser.add_argument("--output", default="latest", help="results file stem in bench/results")
    args = parser.parse_args(argv)
    args.only = [key.strip().upper() for key in args.only.split(",") if key.strip()]
    installed = importlib.util.find_spec("django_scim") is not None
    args.djscim2 = not args.skip_djscim2 and installed
    if not installed and not args.skip_djscim2:
        say("django-scim2 is not installed (pip install -e '.[compare]'): its column stays empty")
    return args


def scenario_targets(
    size: Sizes,
    ours: dict[str, Any],
    ours_port: int,
    djscim2: dict[str, Any] | None,
    port2: int,
    slug: str = ORG_SLUGS[0],
) -> list[Target]:
    """Axon-scim, django-scim2 (when seeded) and the floor, as the load plans address them,
    in organization ``slug`` (A's token; S2c's B has one of its own)."""
    org_id, o = ours["org_ids"][slug], ORG_SLUGS.index(slug)
    token = ours["token"] if o == 0 else ours["token_b"]

    def ours_like(name: str, prefix: str, token: str | None, query: str = "") -> Target:
        return Target(
            name,
            ours_port,
            prefix,
            token,
            org_id,
            lambda i: str(data.user_uuid(slug, i)),
            lambda g: str(data.group_uuid(slug, g)),
            str(data.big_group_uuid(slug)),
            query=query,
            slug=slug,
        )

    found = [ours_like("ours", "/scim/v2", token)]
    if djscim2 is not None:
        found.append(
            Target(
                "django_scim2",
                port2,
                "/scim/v2",
                djscim2["token"],
                djscim2["org_ids"][slug],
                lambda i: str(data.djscim2_user_id(o, i, size.users)),
                lambda g: str(data.djscim2_group_id(o, g, size.small_groups)),
                str(data.djscim2_big_group_id(o, size.small_groups)),
                slug=slug,
            )
        )
    found.append(ours_like("floor", "/floor", None, query=f"org={org_id}"))
    return found


def measure(scenario: Scenario, target: Target, size: Sizes) -> dict[str, Any] | None:
    """Check one response of ``target``; None when fine, else the reason it is left out."""
    if scenario.check is None:
        return None
    method, path, body = scenario.build(target, size)[0][0]
    status, raw = request(target.port, method, path, target.headers(), body)
    problem = scenario.check(status, parse_body(raw), size)
    if problem:
        say(f"  {scenario.key} {target.name}: not supported ({problem})")
        return {"supported": False, "note": problem}
    return None


def split(phases: list[list[Any]], rounds: int) -> list[list[list[Any]]]:
    """Cut every phase into ``rounds`` consecutive chunks, keeping paired phases paired."""
    out = []
    for r in range(rounds):
        out.append(
            [phase[r * len(phase) // rounds : (r + 1) * len(phase) // rounds] for phase in phases]
        )
    return out


def run_round(plan: dict[str, Any], server: Server, workdir: Path, acc: dict[str, Any]) -> None:
    """One load generator process on ``plan``; adds its samples and peak RSS to ``acc``."""
    plan_file, result_file = workdir / "plan.json", workdir / "result.json"
    plan_file.write_text(json.dumps(plan))
    baseline = reset_peak_rss(server)
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(plan_file), str(result_file)],
        cwd=ROOT,
        check=True,
    )
    result = json.loads(result_file.read_text())
    peak, growth = peak_rss(baseline)
    acc["samples"] += result["samples"]
    acc["seconds"] += result["seconds"]
    acc["rss"].append(peak)
    acc["growth"].append(growth)
    acc["error"] = acc["error"] or result["error_sample"]


def summary(key: str, name: str, acc: dict[str, Any]) -> dict[str, Any]:
    """The merged rounds of one target: the load generator's summary, RSS, and support."""
    from bench.loadgen import summarize

    result = summarize(acc["samples"], acc["seconds"])
    result["rss_mb"] = max((v for v in acc["rss"] if v is not None), default=None)
    result["rss_growth_mb"] = max((v for v in acc["growth"] if v is not None), default=None)
    result["supported"] = True
    if result["errors"] > result["requests"] / 2:
        result["supported"] = False
        result["note"] = f"answers errors: {result['statuses']}; {(acc['error'] or '')[:160]}"
    say(
        f"  {key} {name}: {result['rps']} req/s, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, {result['queries']} queries, "
        f"{result['requests']} requests"
        + (f", {result['errors']} errors {result['statuses']}" if result["errors"] else "")
    )
    return result


def drive(
    group: list[tuple[Scenario, list[Target]]],
    server_of: dict[str, Server],
    size: Sizes,
    workdir: Path,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Run the load generator against each target in turn, round after round.

    Interleaving the implementations in rounds spreads the noise of a shared
    machine over all of them, so their ratios hold; the scenarios of one
    ``group`` (S2, S2b, S2c) are interleaved alike, so their ratios hold too.
    """
    keys = [scenario.key for scenario, _ in group]
    rounds = 1 if any(key in SINGLE_ROUND for key in keys) else ROUNDS
    limit = size.sync_time_limit if "S9" in keys else size.time_limit
    chunks = {
        (scenario.key, t.name): split(scenario.build(t, size), rounds)
        for scenario, runnable in group
        for t in runnable
    }
    merged: dict[tuple[str, str], dict[str, Any]] = {
        key: {"samples": [], "seconds": 0.0, "rss": [], "growth": [], "error": None}
        for key in chunks
    }
    for r in range(rounds):
        for scenario, runnable in group:
            for target in runnable:
                plan = {
                    "port": target.port,
                    "headers": target.headers(),
                    "label": f"{scenario.key} {target.name} round {r + 1}/{rounds}",
                    "concurrency": scenario.concurrency,
                    "time_limit": limit / rounds,
                    "phases": chunks[scenario.key, target.name][r],
                }
                acc = merged[scenario.key, target.name]
                run_round(plan, server_of[target.name], workdir, acc)
    return {
        scenario.key: {
            t.name: summary(scenario.key, t.name, merged[scenario.key, t.name]) for t in runnable
        }
        for scenario, runnable in group
    }


def start_servers(
    size: Sizes, ours: dict[str, Any], djscim2: dict[str, Any] | None
) -> tuple[dict[str, Server], dict[str, list[Target]]]:
    """Axon-scim's server (which serves the floor too) and django-scim2's, warmed up;
    the targets by organization."""
    servers = {"ours": Server("axon-scim", "bench.settings_ours", db_name("ours", size.mode))}
    try:
        if djscim2 is not None:
            servers["django_scim2"] = Server(
                "django-scim2", "bench.djscim2.settings", db_name("djscim2", size.mode)
            )
        servers["floor"] = servers["ours"]
        port2 = servers["django_scim2"].port if djscim2 is not None else 0
        by_org = {
            slug: scenario_targets(size, ours, servers["ours"].port, djscim2, port2, slug)
            for slug in ORG_SLUGS
        }
        found = by_org[ORG_SLUGS[0]]
        for target in found:
            ready = "/ServiceProviderConfig"
            path = target.path(ready) if target.name != "floor" else "/scim/v2" + ready
            servers[target.name].wait_ready(path, target.headers())
            # Warm every worker: imports, URL resolvers, connections.
            first = SCENARIOS[0].build(target, size)[0][0]
            for _ in range(2 * WORKERS):
                request(target.port, first[0], first[1], target.headers())
    except BaseException:
        stop(servers)
        raise
    return servers, by_org


def stop(servers: dict[str, Server]) -> None:
    for server in set(servers.values()):
        server.stop()


def run_scenarios(
    only: list[str],
    by_org: dict[str, list[Target]],
    servers: dict[str, Server],
    size: Sizes,
    workdir: Path,
) -> dict[str, dict[str, Any]]:
    """S1..S9 (those ``only`` selects), each checked, then driven against every target;
    consecutive scenarios of one ``group`` in interleaved rounds."""
    results: dict[str, dict[str, Any]] = {}
    groups: list[list[tuple[Scenario, list[Target]]]] = []
    for scenario in SCENARIOS:
        if only and scenario.key.upper() not in only:
            continue
        say(f"== {scenario.key}: {scenario.title}")
        results[scenario.key] = {}
        runnable = []
        for target in by_org[scenario.org]:
            if target.name in scenario.unsupported:
                note = scenario.unsupported[target.name]
                results[scenario.key][target.name] = {"supported": False, "note": note}
                continue
            problem = measure(scenario, target, size)
            if problem:
                results[scenario.key][target.name] = problem
            else:
                runnable.append(target)
        joins = groups and scenario.group and groups[-1][0][0].group == scenario.group
        if joins:
            groups[-1].append((scenario, runnable))
        else:
            groups.append([(scenario, runnable)])
    for group in groups:
        say("== driving " + ", ".join(scenario.key for scenario, _ in group))
        for key, by_target in drive(group, servers, size, workdir).items():
            results[key].update(by_target)
    return results


def capture_plans(
    results: dict[str, Any], by_org: dict[str, list[Target]], size: Sizes, dbname: str
) -> dict[str, dict[str, Any]]:
    """For S2 and S2c when they ran: the filtering SQL of one of axon-scim's requests
    and its EXPLAIN (ANALYZE, BUFFERS) on the bench database."""
    from urllib.parse import parse_qs, urlsplit

    plans = {}
    for scenario in SCENARIOS:
        if scenario.key not in ("S2", "S2c") or scenario.key not in results:
            continue
        target = next(t for t in by_org[scenario.org] if t.name == "ours")
        _, path, _ = scenario.build(target, size)[0][0]
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
        conn.request("GET", path, headers={**target.headers(), custom_attr.SQL_HEADER: "1"})
        response = conn.getresponse()
        response.read()
        statements = custom_attr.captured_sql(response.headers)
        conn.close()
        plan = custom_attr.explain(dbname, statements)
        sql = next((s for s in statements if "EXISTS" in s.upper()), "")
        flt = parse_qs(urlsplit(path).query).get("filter", [""])[0]
        plans[scenario.key] = {"filter": flt, "sql": sql, "plan": plan}
        say(f"  {scenario.key} plan:\n{plan}")
    return plans


def run_extras(only: list[str], ctx: Context) -> dict[str, Any]:
    """Each extra scenario ``only`` selects, by its ``doc_key``; None results are left out."""
    found = {}
    for extra in EXTRAS:
        if extra.selected(only, ctx.size.mode == "full"):
            result = extra.run(ctx)
            if result is not None:
                found[extra.doc_key] = result
    return found


def write(document: dict[str, Any], args: argparse.Namespace, started: float) -> None:
    markdown = report.markdown(document)
    print(markdown)
    if args.no_write:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.md").write_text(markdown)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(document, indent=2) + "\n")
    say(f"== wrote {RESULTS / args.output}.md and .json ({time.monotonic() - started:.0f}s in all)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = sizes(args.full)
    started, load_at_start, commit = time.monotonic(), os.getloadavg(), code_version()
    say(f"== axon-scim benchmark, {size.mode} mode: {size.users:,} users per organization")
    with tempfile.TemporaryDirectory(prefix="axon-bench-") as tmp:
        workdir = Path(tmp)
        say("== seeding")
        ours = seed("ours", size.mode, workdir)
        djscim2 = seed("djscim2", size.mode, workdir) if args.djscim2 else None
        say("== starting gunicorn")
        servers, by_org = start_servers(size, ours, djscim2)
        try:
            results = run_scenarios(args.only, by_org, servers, size, workdir)
            plans = capture_plans(results, by_org, size, db_name("ours", size.mode))
            ctx = Context(servers["ours"].port, ours["token"], size, say, workdir, ours)
            extras = run_extras(args.only, ctx)
        finally:
            stop(servers)
    document = report.build(
        machine(load_at_start, commit),
        size,
        results,
        {scenario.key: scenario for scenario in SCENARIOS},
        seconds=time.monotonic() - started,
        seeding={"ours": ours, "django_scim2": djscim2},
        extras=extras,
    )
    if plans:
        document["plans"] = plans
    write(document, args, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
