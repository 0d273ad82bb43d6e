"""Orchestrates a benchmark run: seed, serve, drive, report.

    python -m bench.run [--full] [--only S1,S3,L] [--skip-djscim2]

1. seeds (or reuses) the bench databases, one process per implementation;
2. starts two gunicorn servers with 2 sync workers each on free 127.0.0.1
   ports: axon-scim (with the floor views under /floor/) and django-scim2;
3. for each scenario, checks one response of each implementation, then runs
   the load generator (a separate process) against each in turn, resetting
   and reading the workers' peak RSS around it;
4. walks by cursor (S11, ``cursor_walk``); times the heaviest requests alone (``limits``, "L"),
   then a Bulk of 1,000 user creations against 1,000 single POSTs (``bulk``, "S10");
   reads a 1,000,000-member group on a server of its own, when ``--only`` names S8b or
   a FULL run has no ``--only`` (``bigroup``);
5. prints the Markdown table and writes bench/results/latest.md and .json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import bigroup, bulk, cursor_walk, data, limits, report
from bench.config import ORG_SLUGS, Sizes, db_name, sizes
from bench.scenarios import ORDER, SCENARIOS, Scenario, Target, parse_body

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORKERS = 2
# Each scenario runs in rounds that alternate the implementations, except the
# long ones (a full sync; whole 100,000-member groups) that run once.
ROUNDS = 3
SINGLE_ROUND = ("S8", "S9")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One gunicorn master with ``WORKERS`` sync workers on 127.0.0.1."""

    def __init__(self, name: str, settings_module: str, dbname: str) -> None:
        self.name = name
        self.port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "BENCH_DB_NAME": dbname,
            "PYTHONPATH": str(ROOT),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "600",
                "--log-level",
                "warning",
                "bench.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
        )

    def wait_ready(self, path: str, headers: dict[str, str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.process.returncode}")
            try:
                status, _ = request(self.port, "GET", path, headers)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} server did not answer within {timeout}s")

    def workers(self) -> list[int]:
        """Pids of the master's worker processes."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss(server: Server) -> dict[int, int]:
    """Reset each worker's peak RSS (clear_refs 5) and return its current RSS in kB."""
    baseline = {}
    for pid in server.workers():
        # Without the reset, VmHWM stays the peak since the worker started.
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        baseline[pid] = _status_kb(pid, "VmRSS")
    return baseline


def peak_rss(baseline: dict[int, int]) -> tuple[float | None, float | None]:
    """The highest worker peak RSS (MB) and the largest growth over its baseline (MB)."""
    peaks, growth = [], []
    for pid, start in baseline.items():
        try:
            hwm = _status_kb(pid, "VmHWM")
        except OSError:
            continue
        peaks.append(hwm)
        growth.append(hwm - start)
    if not peaks:
        return None, None
    return round(max(peaks) / 1024, 1), round(max(growth) / 1024, 1)


def request(
    port: int, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request(
            method, path, body=json.dumps(body) if body is not None else None, headers=headers
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def seed(impl: str, size: Sizes, workdir: Path) -> dict[str, Any]:
    out = workdir / f"fixtures-{impl}.json"
    subprocess.run(
        [sys.executable, "-m", "bench.seed", impl, size.mode, str(out)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.read_text())


def targets(
    size: Sizes,
    ours: dict[str, Any],
    ours_port: int,
    djscim2: dict[str, Any] | None,
    djscim2_port: int | None,
) -> list[Target]:
    slug = ORG_SLUGS[0]
    org_id = ours["org_ids"][slug]
    found = [
        Target(
            "ours",
            ours_port,
            "/scim/v2",
            ours["token"],
            org_id,
            lambda i: str(data.user_uuid(slug, i)),
            lambda g: str(data.group_uuid(slug, g)),
            str(data.big_group_uuid(slug)),
        ),
    ]
    if djscim2 is not None and djscim2_port is not None:
        found.append(
            Target(
                "django_scim2",
                djscim2_port,
                "/scim/v2",
                djscim2["token"],
                djscim2["org_ids"][slug],
                lambda i: str(data.djscim2_user_id(0, i, size.users)),
                lambda g: str(data.djscim2_group_id(0, g, size.small_groups)),
                str(data.djscim2_big_group_id(0, size.small_groups)),
            )
        )
    found.append(
        Target(
            "floor",
            ours_port,
            "/floor",
            None,
            org_id,
            lambda i: str(data.user_uuid(slug, i)),
            lambda g: str(data.group_uuid(slug, g)),
            str(data.big_group_uuid(slug)),
            query=f"org={org_id}",
        )
    )
    return found


def measure(
    scenario: Scenario, target: Target, server: Server, size: Sizes, workdir: Path
) -> dict[str, Any] | None:
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


def drive(
    scenario: Scenario,
    runnable: list[Target],
    server_of: dict[str, Server],
    size: Sizes,
    workdir: Path,
) -> dict[str, dict[str, Any]]:
    """Run the load generator against each target in turn, round after round.

    Interleaving the implementations in rounds spreads the noise of a shared
    machine over all of them, so their ratios hold.
    """
    from bench.loadgen import summarize

    rounds = 1 if scenario.key in SINGLE_ROUND else ROUNDS
    limit = size.sync_time_limit if scenario.key == "S9" else size.time_limit
    chunks = {t.name: split(scenario.build(t, size), rounds) for t in runnable}
    merged: dict[str, dict[str, Any]] = {
        t.name: {"samples": [], "seconds": 0.0, "rss": [], "growth": [], "error": None}
        for t in runnable
    }
    for r in range(rounds):
        for target in runnable:
            server, acc = server_of[target.name], merged[target.name]
            plan = {
                "port": target.port,
                "headers": target.headers(),
                "label": f"{scenario.key} {target.name} round {r + 1}/{rounds}",
                "concurrency": scenario.concurrency,
                "time_limit": limit / rounds,
                "phases": chunks[target.name][r],
            }
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
    out = {}
    for target in runnable:
        acc = merged[target.name]
        result = summarize(acc["samples"], acc["seconds"])
        result["rss_mb"] = max((v for v in acc["rss"] if v is not None), default=None)
        result["rss_growth_mb"] = max((v for v in acc["growth"] if v is not None), default=None)
        result["supported"] = True
        if result["errors"] > result["requests"] / 2:
            result["supported"] = False
            result["note"] = f"answers errors: {result['statuses']}; {(acc['error'] or '')[:160]}"
        say(
            f"  {scenario.key} {target.name}: {result['rps']} req/s, p50 {result['p50_ms']} ms, "
            f"p99 {result['p99_ms']} ms, {result['queries']} queries, "
            f"{result['requests']} requests"
            + (f", {result['errors']} errors {result['statuses']}" if result["errors"] else "")
        )
        out[target.name] = result
    return out


def code_version() -> str:
    """The commit the servers run, marked when the app's working tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "axon_scim", "portal_demo")
    return f"{commit} + uncommitted changes" if dirty else commit


def machine(load_at_start: tuple[float, float, float], commit: str) -> dict[str, Any]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import psycopg

    def pkg(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        None,
    )
    from bench.config import PG_BASE

    with psycopg.connect(f"{PG_BASE}/postgres") as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": pkg("Django"),
        "djangorestframework": pkg("djangorestframework"),
        "postgresql": pg,
        "psycopg": pkg("psycopg"),
        "gunicorn": pkg("gunicorn"),
        "django_scim2": pkg("django-scim2"),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "workers": WORKERS,
        # Other work on the machine (1, 5, 15 minutes) when the run started, and at its end.
        "load_average_start": [round(v, 2) for v in load_at_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "concurrency": 4,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="100,000 users per organization")
    parser.add_argument("--only", default="", help="comma-separated scenarios, e.g. S1,S3,L")
    parser.add_argument("--skip-djscim2", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    parser.add_argument("--output", default="latest", help="results file stem in bench/results")
    args = parser.parse_args()
    size = sizes(args.full)
    only = [key.strip().upper() for key in args.only.split(",") if key.strip()]
    started = time.monotonic()
    load_at_start = os.getloadavg()
    commit = code_version()
    with_djscim2 = not args.skip_djscim2 and importlib.util.find_spec("django_scim") is not None
    if not with_djscim2 and not args.skip_djscim2:
        say("django-scim2 is not installed (pip install -e '.[compare]'): its column stays empty")
    say(f"== axon-scim benchmark, {size.mode} mode: {size.users:,} users per organization")
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="axon-bench-") as tmp:
        workdir = Path(tmp)
        say("== seeding")
        ours_fixtures = seed("ours", size, workdir)
        djscim2_fixtures = seed("djscim2", size, workdir) if with_djscim2 else None
        try:
            say("== starting gunicorn")
            ours_server = Server("axon-scim", "bench.settings_ours", db_name("ours", size.mode))
            servers.append(ours_server)
            djscim2_server = None
            if djscim2_fixtures is not None:
                djscim2_server = Server(
                    "django-scim2", "bench.djscim2.settings", db_name("djscim2", size.mode)
                )
                servers.append(djscim2_server)
            all_targets = targets(
                size,
                ours_fixtures,
                ours_server.port,
                djscim2_fixtures,
                djscim2_server.port if djscim2_server else None,
            )
            server_of = {"ours": ours_server, "floor": ours_server, "django_scim2": djscim2_server}
            for target in all_targets:
                server = server_of[target.name]
                assert server is not None
                server.wait_ready(
                    target.path("/ServiceProviderConfig")
                    if target.name != "floor"
                    else "/scim/v2/ServiceProviderConfig",
                    target.headers(),
                )
                # Warm every worker: imports, URL resolvers, connections.
                for _ in range(2 * WORKERS):
                    request(
                        target.port, *SCENARIOS[0].build(target, size)[0][0][:2], target.headers()
                    )
            results: dict[str, dict[str, Any]] = {}
            by_key = {scenario.key: scenario for scenario in SCENARIOS}
            for scenario in SCENARIOS:
                if only and scenario.key not in only:
                    continue
                say(f"== {scenario.key}: {scenario.title}")
                results[scenario.key] = {}
                runnable = []
                for target in all_targets:
                    server = server_of[target.name]
                    assert server is not None
                    problem = measure(scenario, target, server, size, workdir)
                    if problem:
                        results[scenario.key][target.name] = problem
                    else:
                        runnable.append(target)
                live = {name: srv for name, srv in server_of.items() if srv is not None}
                results[scenario.key].update(drive(scenario, runnable, live, size, workdir))
            walk = None
            if not only or "S11" in only:
                walk = cursor_walk.run(ours_server.port, ours_fixtures["token"], size, say)
            heaviest = None
            if not only or "L" in only:
                say("== L1..L12: the heaviest requests inside the limits, one at a time")
                heaviest = limits.run(ours_server.port, ours_fixtures["token"], size, say)
            bulk_result = bulk.run(ours_server.port, ours_fixtures["token"], say, only)
            big_group = bigroup.run(say, only, size.mode == "full")
        finally:
            for server in servers:
                server.stop()
    results = {key: results[key] for key in ORDER if key in results}
    document = report.build(
        machine(load_at_start, commit),
        size,
        results,
        by_key,
        seconds=time.monotonic() - started,
        seeding={"ours": ours_fixtures, "django_scim2": djscim2_fixtures},
        limits=heaviest,
        walk=walk,
        bulk=bulk_result,
        big_group=big_group,
    )
    markdown = report.markdown(document)
    print(markdown)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.output}.md").write_text(markdown)
        (RESULTS / f"{args.output}.json").write_text(json.dumps(document, indent=2) + "\n")
        say(
            f"== wrote {RESULTS / args.output}.md and .json "
            f"({time.monotonic() - started:.0f}s in all)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
