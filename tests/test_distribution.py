"""The distribution: a wheel of axon_scim alone, three runtime dependencies, license, version."""

from __future__ import annotations

import re
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import axon_scim

from .guide import guide_block
from .wheel import ROOT, build_wheel

RUNTIME = {"django", "djangorestframework", "django-guardian"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


def metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def test_the_wheel_holds_axon_scim_and_its_dist_info_only(wheel: Path) -> None:
    dist_info = f"axon_scim-{axon_scim.__version__}.dist-info/"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()

    strays = [n for n in names if not n.startswith(("axon_scim/", dist_info))]
    assert strays == []
    assert "axon_scim/py.typed" in names
    assert "axon_scim/migrations/0001_initial.py" in names
    assert "axon_scim/management/commands/create_scim_token.py" in names
    assert "axon_scim/management/commands/create_scim_role.py" in names
    assert "axon_scim/templates/admin/axon_scim/organization/activity.html" in names
    assert f"{dist_info}licenses/LICENSE" in names
    assert not [n for n in names if "seed_demo" in n or "portal_demo" in n]


def test_the_wheel_requires_django_drf_and_guardian_only(wheel: Path) -> None:
    requirements = [Requirement(line) for line in metadata(wheel).get_all("Requires-Dist", [])]

    unconditional = {r.name.lower() for r in requirements if r.marker is None}
    assert unconditional == RUNTIME
    extras = {
        extra: {
            r.name.lower() for r in requirements if r.marker and r.marker.evaluate({"extra": extra})
        }
        for extra in ("postgres", "demo", "openapi", "dev")
    }
    assert extras["postgres"] == {"psycopg"}
    assert extras["openapi"] == {"drf-spectacular"}
    assert extras["demo"] == {"dj-database-url"}
    assert {"psycopg", "dj-database-url", "build", "twine", "drf-spectacular"} <= extras["dev"]


def test_the_wheel_metadata_carries_the_license_and_the_one_version(wheel: Path) -> None:
    meta = metadata(wheel)

    assert meta["Name"] == "axon-scim"
    assert meta["Version"] == axon_scim.__version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["License-File"] == "LICENSE"
    assert wheel.name == f"axon_scim-{axon_scim.__version__}-py3-none-any.whl"


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", axon_scim.__version__)


def test_license_changelog_and_spdx_string() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert "License ::" not in " ".join(project["classifiers"])  # the SPDX string says it
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert "keepachangelog.com" in changelog


def test_axon_scim_never_imports_its_optional_dependencies() -> None:
    package = Path(axon_scim.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(
            r"^\s*(import|from)\s+(psycopg|dj_database_url|portal_demo)\b", path.read_text(), re.M
        )
    ]
    assert offenders == []


def test_the_readme_integration_section_is_complete_and_installable_today() -> None:
    readme = (ROOT / "README.md").read_text()

    # The same settings and URL snippets as the guide, which the fresh-host test applies.
    assert guide_block("settings") in readme
    assert guide_block("urls") in readme  # both includes, and include imported
    assert "python manage.py create_scim_role" in readme
    assert "(docs/integration.md)" in readme and "(CHANGELOG.md)" in readme
    # Not published yet: the install line names a checkout or a built wheel.
    assert "pip install /path/to/axon-scim-checkout" in readme
    assert "pip install dist/axon_scim-*.whl" in readme
