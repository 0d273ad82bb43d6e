"""A portal team adopts axon_scim: the built wheel in a fresh ``django-admin startproject``.

Marked slow, so ``pytest`` and ``make test`` leave it out and ``.ci/run`` runs it
in a step of its own (``pytest -m slow``, 25 to 65 s). It builds the wheel,
installs it in a new virtualenv (its dependencies come from the package index),
applies docs/integration.md to a new project step by step, with the
``REST_FRAMEWORK`` settings a real portal often has, runs the documented
commands, serves the project with ``runserver`` on a free port of 127.0.0.1 and
drives SCIM and the portal API over HTTP, as an identity provider and a
portal admin would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .guide import guide_block
from .http import Browser
from .wheel import build_wheel

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"

# The host's own REST_FRAMEWORK defaults and locale: none of them may change axon_scim.
HOSTILE_SETTINGS = """
LANGUAGE_CODE = "de"
TIME_ZONE = "Europe/Berlin"
USE_TZ = True
INSTALLED_APPS += ["rest_framework.authtoken"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": "1/min", "user": "1/min"},
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.AcceptHeaderVersioning",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 1,
    "EXCEPTION_HANDLER": "host.hostile.exception_handler",
}
"""

HOSTILE_HANDLER = '''"""The host's own DRF exception handler: it must never answer for axon_scim."""

from rest_framework.response import Response


def exception_handler(exc, context):
    return Response({"handled_by": "the host"}, status=418)
'''

# Section 6 of the guide names a ``portal_admin``; the host's code would have one.
PORTAL_ADMIN = f"""
from django.contrib.auth import get_user_model

portal_admin = get_user_model().objects.create_user(
    "portal-admin", password={PASSWORD!r}, is_staff=True
)
"""


@dataclass
class Host:
    """The running host project: its directory, interpreter, URL and the SCIM token."""

    directory: Path
    python: Path
    base: str
    secret: str

    def scim(self) -> Browser:
        return Browser(
            self.base,
            headers={"Authorization": f"Bearer {self.secret}", "Accept": "application/scim+json"},
        )


def clean_env() -> dict[str, str]:
    """This process's environment without what points at the checkout or its settings."""
    drop = {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "VIRTUAL_ENV"}
    return {key: value for key, value in os.environ.items() if key not in drop}


def run(*command: str | Path, cwd: Path) -> str:
    """Run a command of the host (check it succeeds) and return its stdout."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def install_wheel(workdir: Path) -> Path:
    """A new virtualenv with the built wheel installed; its python."""
    wheel = build_wheel(workdir)
    run(sys.executable, "-m", "venv", workdir / "venv", cwd=workdir)
    python = workdir / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel, cwd=workdir)
    return python


def start_project(python: Path, workdir: Path) -> Path:
    """``django-admin startproject host``, then the guide's settings and URLs, then the host's."""
    directory = workdir / "project"
    directory.mkdir()
    run(python.parent / "django-admin", "startproject", "host", directory, cwd=workdir)
    package = directory / "host"
    with (package / "settings.py").open("a") as settings:
        settings.write("\n" + guide_block("settings") + HOSTILE_SETTINGS)
    with (package / "urls.py").open("a") as urls:
        urls.write("\n" + guide_block("urls"))
    (package / "hostile.py").write_text(HOSTILE_HANDLER)
    return directory


def prepare(python: Path, directory: Path) -> str:
    """The guide's commands: migrate, a token, sso:configure, a role. The token's secret."""
    manage = (python, "manage.py")
    run(*manage, "check", "--fail-level", "WARNING", cwd=directory)
    run(*manage, "migrate", "--noinput", cwd=directory)
    out = run(
        *manage, "create_scim_token", "acme", "--label", "Okta", "--create-org", cwd=directory
    )
    run(*manage, "shell", "-c", PORTAL_ADMIN + guide_block("grant"), cwd=directory)
    run(
        *manage,
        "create_scim_role",
        "Operators",
        "--perm",
        "axon_scim.view_organization",
        "--description",
        "Runs the portal",
        cwd=directory,
    )
    return out.splitlines()[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_serving(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    """Poll the discovery endpoint for up to 30 s; fail with the server's log if it died."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, f"runserver exited:\n{log.read_text()}"
        try:
            with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), 1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"runserver did not answer within 30 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    workdir = tmp_path_factory.mktemp("fresh-host")
    python = install_wheel(workdir)
    directory = start_project(python, workdir)
    secret = prepare(python, directory)
    base = f"http://127.0.0.1:{free_port()}"
    log = workdir / "runserver.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [python, "manage.py", "runserver", base.removeprefix("http://"), "--noreload"],
            cwd=directory,
            env=clean_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(server, base, log)
        yield Host(directory=directory, python=python, base=base, secret=secret)
    finally:
        server.terminate()
        server.wait(timeout=10)


def new_user(scim: Browser, user_name: str) -> str:
    reply = scim.call(
        "POST",
        "/scim/v2/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name},
    )
    assert reply.status == 201, reply.text
    return str(reply.json()["id"])


def test_the_host_runs_the_installed_wheel_without_the_demo(host: Host) -> None:
    probe = (
        "import importlib.util, axon_scim; "
        "print(axon_scim.__file__); print(importlib.util.find_spec('portal_demo'))"
    )
    location, demo = run(host.python, "-c", probe, cwd=host.directory).split()

    assert "site-packages" in location
    assert demo == "None"
    commands = run(host.python, "manage.py", "help", "--commands", cwd=host.directory).split()
    assert {"create_scim_token", "create_scim_role", "verify_scim_audit"} <= set(commands)
    assert "seed_demo" not in commands


def test_scim_create_filter_and_patch(host: Host) -> None:
    scim = host.scim()
    user_id = new_user(scim, "ada@example.com")

    found = scim.call("GET", "/scim/v2/Users?filter=userName%20eq%20%22ADA@example.com%22")
    assert found.status == 200, found.text
    assert found.headers["Content-Type"].startswith("application/scim+json")
    assert found.json()["totalResults"] == 1
    assert found.json()["Resources"][0]["id"] == user_id

    patched = scim.call(
        "PATCH",
        f"/scim/v2/Users/{user_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert patched.status == 200, patched.text
    assert patched.json()["active"] is False


def test_a_group_push(host: Host) -> None:
    scim = host.scim()
    first, second = new_user(scim, "grace@example.com"), new_user(scim, "alan@example.com")

    created = scim.call(
        "POST",
        "/scim/v2/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineers",
            "members": [{"value": first}],
        },
    )
    assert created.status == 201, created.text
    group_id = created.json()["id"]
    added = scim.call(
        "PATCH",
        f"/scim/v2/Groups/{group_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": second}]}],
        },
    )
    assert added.status == 200, added.text
    assert {m["value"] for m in added.json()["members"]} == {first, second}


def test_a_portal_admin_signs_in_maps_a_group_and_reads_the_audit_log(host: Host) -> None:
    scim = host.scim()
    member = new_user(scim, "linus@example.com")
    group = scim.call(
        "POST",
        "/scim/v2/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Support",
            "members": [{"value": member}],
        },
    ).json()
    portal = Browser(host.base)
    portal.sign_in("/admin/login/", "portal-admin", PASSWORD, then="/admin/")

    organizations = portal.call("GET", "/api/v1/scim/organizations")
    assert organizations.status == 200, organizations.text
    assert organizations.json()["results"] == [{"slug": "acme", "name": "Acme", "selected": True}]
    roles = portal.call("GET", "/api/v1/scim/roles").json()["results"]
    assert [(r["name"], r["permissions"]) for r in roles] == [("Operators", ["view_organization"])]
    # The wheel alone, without the openapi extra: no document, and nothing else changes.
    assert portal.call("GET", "/api/v1/scim/schema?format=json").status == 501

    mapped = portal.call(
        "PUT", f"/api/v1/scim/groups/{group['id']}/role-mapping", {"role_id": roles[0]["id"]}
    )
    assert mapped.status == 200, mapped.text
    assert mapped.json()["role"] == {"id": roles[0]["id"], "name": "Operators"}

    log = portal.call("GET", "/api/v1/scim/audit-events?action=role.granted")
    assert log.status == 200, log.text
    (granted,) = log.json()["results"]
    assert granted["actor"] == {"type": "user", "label": "user portal-admin"}
    assert granted["after"]["groupDisplayName"] == "Support"
    verified = run(host.python, "manage.py", "verify_scim_audit", cwd=host.directory)
    assert verified.startswith("acme: ok:")
