"""The gunicorn servers a run drives, their workers' memory, and one-off requests.

A ``Server`` is one gunicorn master on a free 127.0.0.1 port serving
``bench.wsgi`` with a given settings module and database; the main scenarios
use ``WORKERS`` sync workers, S12 starts its own with more (``bench.contention``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


class Server:
    """One gunicorn master with ``workers`` workers (sync, or gthread with ``threads``)."""

    def __init__(
        self,
        name: str,
        settings_module: str,
        dbname: str,
        *,
        workers: int = WORKERS,
        threads: int = 1,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.workers_count = workers
        self.worker_class = "gthread" if threads > 1 else "sync"
        self.threads = threads
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "BENCH_DB_NAME": dbname,
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers)]
        command += ["--worker-class", self.worker_class]
        if threads > 1:
            command += ["--threads", str(threads)]
        command += ["--bind", f"127.0.0.1:{self.port}", "--timeout", "600"]
        command += ["--log-level", "warning", "bench.wsgi:application"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)

    def describe(self) -> str:
        """The configuration, as the report states it."""
        threads = f" x {self.threads} threads" if self.threads > 1 else ""
        return f"gunicorn, {self.workers_count} {self.worker_class} workers{threads}"

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


def seed(impl: str, mode: str, workdir: Path) -> dict[str, Any]:
    """Seed (or reuse) one implementation's database in a subprocess; its fixtures."""
    out = workdir / f"fixtures-{impl}.json"
    subprocess.run(
        [sys.executable, "-m", "bench.seed", impl, mode, str(out)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.read_text())
