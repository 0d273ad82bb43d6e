"""The developer entry points: Makefile targets, .ci/run and tox.ini stay wired up."""

from __future__ import annotations

import configparser
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def make_dry_run(*args: str) -> str:
    """What ``make -n`` would run; nothing is executed."""
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


@needs_make
def test_make_demo_migrates_seeds_and_serves_on_the_chosen_port() -> None:
    out = make_dry_run("demo", "PORT=8123")

    assert "manage.py migrate --noinput" in out
    assert "manage.py seed_demo --org 'demo'" in out
    assert "http://127.0.0.1:8123/scim/v2/" in out
    assert "http://127.0.0.1:8123/accounts/login/" in out
    assert "runserver 127.0.0.1:8123" in out


def make_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the repository's Makefile with ``directory`` as the checkout."""
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-C", str(directory), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_make
def test_make_demo_on_a_busy_port_stops_before_installing_or_seeding(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = make_in(tmp_path, "demo", f"PORT={port}")

    assert result.returncode != 0
    assert f"127.0.0.1:{port} is in use" in result.stderr
    assert "nothing was seeded" in result.stderr
    # No virtualenv, no database, no install log: the check ran first.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pyproject.toml"]


@needs_make
def test_make_port_free_passes_on_a_free_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = make_in(ROOT, "port-free", f"PORT={port}")

    assert result.returncode == 0, result.stderr


@needs_make
def test_a_first_make_demo_installs_the_demo_extra_quietly_and_make_test_the_dev_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("")

    demo = make_in(tmp_path, "-n", "demo").stdout
    test = make_in(tmp_path, "-n", "test").stdout

    lines = demo.splitlines()
    assert "PORT_CHECK" in lines[0]  # the port first, then the install, then the seed
    install = next(line for line in lines if "pip install" in line)
    assert "--quiet -e '.[demo]' > .venv/install-demo.log 2>&1" in install
    assert lines.index(install) < next(i for i, line in enumerate(lines) if "seed_demo" in line)
    assert "[dev]" not in demo
    assert "pip install -e '.[dev]'" in test
    assert "[demo]" not in test
    assert ".venv/.installed-dev" in test and ".venv/.installed-demo" in test


@needs_make
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("test", ".venv/bin/pytest"),
        ("lint", "ruff format --check ."),
        ("typecheck", "mypy axon_scim portal_demo"),
        ("migrations-check", "makemigrations --check --dry-run"),
    ],
)
def test_make_targets(target: str, expected: str) -> None:
    assert expected in make_dry_run(target)


@needs_make
def test_make_check_runs_all_three_checks() -> None:
    out = make_dry_run("check")

    assert "ruff check ." in out
    assert "mypy axon_scim portal_demo" in out
    assert "makemigrations --check --dry-run" in out


def test_ci_run_is_an_executable_bash_script_testing_both_databases() -> None:
    script = ROOT / ".ci" / "run"

    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert "make -k check" in text
    assert "postgres://postgres@${PG_HOST}:${PG_PORT}/test" in text
    assert ".venv/bin/python -m build --outdir dist ." in text
    assert ".venv/bin/twine check --strict dist/*" in text
    assert "env -u DATABASE_URL .venv/bin/pytest -m slow" in text
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_tox_envs() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "tox.ini")

    envlist = [env.strip() for env in config["tox"]["envlist"].split(",")]
    assert envlist == ["py311-django52", "py312-djangolatest", "lint", "type", "migrations"]
    assert config["testenv"]["passenv"].strip() == "DATABASE_URL"
    assert config["testenv"]["extras"].strip() == "dev"
    assert "Django>=5.2,<5.3" in config["testenv"]["deps"]


@needs_make
def test_make_test_runs_the_hostile_host_suite_after_the_suite() -> None:
    out = make_dry_run("test", "PYTEST_ARGS=-x")

    first = out.index(".venv/bin/pytest -x")
    assert out.index(".venv/bin/pytest --ds=tests.hostile.settings tests/hostile") > first


def test_tox_runs_the_hostile_host_suite_after_the_suite() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "tox.ini")

    commands = config["testenv"]["commands"].split("\n")
    assert [c.strip() for c in commands if c.strip()] == [
        "pytest {posargs}",
        "pytest --ds=tests.hostile.settings tests/hostile",
    ]


def test_ci_run_installs_the_browser_before_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text()

    assert "apt-get install -y -qq chromium chromium-driver" in script
    assert script.index('step "browser for the admin tests" ensure_browser') < script.index(
        'step "tests on SQLite"'
    )
