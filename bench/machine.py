"""What a run records about where it ran: the machine, the packages and the commit."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench.config import PG_BASE
from bench.servers import ROOT, WORKERS


def code_version() -> str:
    """The commit the servers run, marked when the app's working tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "axon_scim", "portal_demo")
    return f"{commit} + uncommitted changes" if dirty else commit


def _pkg(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _proc_field(path: str, prefix: str) -> str | None:
    for line in Path(path).read_text().splitlines():
        if line.startswith(prefix):
            return line
    return None


def machine(load_at_start: tuple[float, float, float], commit: str) -> dict[str, Any]:
    import psycopg

    cpu_line = _proc_field("/proc/cpuinfo", "model name")
    memory_line = _proc_field("/proc/meminfo", "MemTotal")
    with psycopg.connect(f"{PG_BASE}/postgres") as conn:
        row = conn.execute("SHOW server_version").fetchone()
    pg = row[0] if row else None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_line.split(":", 1)[1].strip() if cpu_line else platform.processor(),
        "memory_mb": int(memory_line.split()[1]) // 1024 if memory_line else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": _pkg("Django"),
        "djangorestframework": _pkg("djangorestframework"),
        "postgresql": pg,
        "psycopg": _pkg("psycopg"),
        "gunicorn": _pkg("gunicorn"),
        "django_scim2": _pkg("django-scim2"),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "workers": WORKERS,
        # Other work on the machine (1, 5, 15 minutes) when the run started, and at its end.
        "load_average_start": [round(v, 2) for v in load_at_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "concurrency": 4,
    }
