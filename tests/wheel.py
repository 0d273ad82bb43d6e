"""Build the axon-scim wheel from this checkout, as a portal team or a release would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a build must not see: virtualenvs, caches, build leftovers, local databases.
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".tox",
    "*cache*",
    "__pycache__",
    "build",
    "dist",
    "*.egg-info",
    "*.sqlite3",
    ".work",
)


def build_wheel(workdir: Path) -> Path:
    """Build the wheel from a copy of the checkout (so no build output lands in it); its path.

    ``pip wheel`` builds in an isolated environment with the build backend that
    ``pyproject.toml`` asks for, as ``python -m build`` does.
    """
    source = workdir / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    out = workdir / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("axon_scim-*.whl")
    return wheel
