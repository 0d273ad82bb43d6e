"""The load generator: a separate process that replays a plan of requests and times them.

    python -m bench.loadgen PLAN.json RESULT.json

A plan is ``{"port", "headers", "concurrency", "time_limit", "label",
"phases": [[[method, path, body], ...], ...]}``. Phases run one after the
other; within a phase ``concurrency`` threads take the next request in order
until the list is done or ``time_limit`` has passed (requests in flight are
finished and counted). A later phase runs only as many requests as the first
phase completed, so paired phases (add, then remove) stay paired. Each
request opens its own connection, as gunicorn's sync workers close them.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import threading
import time
from typing import Any


def _send(
    port: int, headers: dict[str, str], method: str, path: str, body: Any
) -> tuple[float, int, int, float | None, bytes]:
    payload = json.dumps(body).encode() if body is not None else None
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - started
        queries = response.getheader("X-Bench-Queries")
        return (
            elapsed,
            response.status,
            len(content),
            float(queries) if queries is not None else None,
            content[:300],
        )
    finally:
        conn.close()


def run_phase(
    plan: dict[str, Any],
    requests: list[list[Any]],
    deadline: float,
    samples: list[tuple[float, int, int, float | None, bytes]],
    progress: dict[str, int],
) -> int:
    """Replay ``requests`` until done or ``deadline``; return how many were sent."""
    lock = threading.Lock()
    cursor = [0]

    def worker() -> None:
        while True:
            with lock:
                index = cursor[0]
                if index >= len(requests) or time.monotonic() >= deadline:
                    return
                cursor[0] += 1
            method, path, body = requests[index]
            try:
                sample = _send(plan["port"], plan["headers"], method, path, body)
            except OSError as exc:
                sample = (0.0, 599, 0, None, str(exc).encode())
            with lock:
                samples.append(sample)
                progress["done"] += 1

    threads = [
        threading.Thread(target=worker, daemon=True)
        for _ in range(min(plan["concurrency"], max(1, len(requests))))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return cursor[0]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Replay every phase of ``plan`` and summarize the samples."""
    samples: list[tuple[float, int, int, float | None, bytes]] = []
    total = sum(len(phase) for phase in plan["phases"])
    progress = {"done": 0}
    stop = threading.Event()

    def reporter() -> None:
        while not stop.wait(2.0):
            print(
                f"    {plan['label']}: {progress['done']}/{total} requests",
                file=sys.stderr,
                flush=True,
            )

    threading.Thread(target=reporter, daemon=True).start()
    started = time.monotonic()
    limit = plan["time_limit"]
    first_phase_sent: int | None = None
    for phase in plan["phases"]:
        if first_phase_sent is None:
            # The first phase gets its share of the time limit; later phases replay as
            # many requests as it sent (bounded by a safety deadline).
            deadline = started + limit / len(plan["phases"])
            first_phase_sent = run_phase(plan, phase, deadline, samples, progress)
        else:
            run_phase(plan, phase[:first_phase_sent], started + 2 * limit, samples, progress)
    wall = time.monotonic() - started
    stop.set()
    result = summarize(samples, wall)
    result["planned"] = total
    # Raw samples (bodies dropped) so the orchestrator can merge rounds.
    result["samples"] = [[s[0], s[1], s[2], s[3]] for s in samples]
    result["error_sample"] = next(
        (s[4].decode("utf-8", "replace") for s in samples if s[1] >= 400), None
    )
    return result


def summarize(samples: list[Any], wall: float) -> dict[str, Any]:
    """Throughput, latency percentiles, queries and bytes of successful requests."""
    ok = [s for s in samples if s[1] < 400]
    latencies = [s[0] for s in ok]
    queries = [s[3] for s in ok if s[3] is not None]
    statuses: dict[str, int] = {}
    for sample in samples:
        statuses[str(sample[1])] = statuses.get(str(sample[1]), 0) + 1
    return {
        "requests": len(samples),
        "errors": len(samples) - len(ok),
        "statuses": statuses,
        "seconds": round(wall, 3),
        "rps": round(len(ok) / wall, 2) if ok and wall else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1) if ok else None,
        "p99_ms": round(percentile(latencies, 99) * 1000, 1) if ok else None,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if ok else None,
        "queries": round(statistics.fmean(queries), 1) if queries else None,
        "queries_max": max(queries) if queries else None,
        "bytes": round(statistics.fmean(s[2] for s in ok)) if ok else None,
    }


def main(argv: list[str]) -> int:
    plan_path, result_path = argv
    with open(plan_path) as handle:
        plan = json.load(handle)
    result = run(plan)
    with open(result_path, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
