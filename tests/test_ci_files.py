"""The developer entry points: Makefile targets, .ci/run and tox.ini stay wired up."""

from __future__ import annotations

import configparser
import os
import shutil
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
