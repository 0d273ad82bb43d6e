"""``axon_scim.protocol`` is pure SCIM: no Django, no DRF, no other axon_scim module.

Two checks, because each sees what the other misses. Reading every module's
import statements catches an import on a path no test runs (inside a
function, behind a condition) and a relative import that climbs out of the
package. Importing the whole package in a fresh interpreter catches what the
source does not spell out (``importlib``, a dependency that pulls Django in).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import axon_scim.protocol

PACKAGE = "axon_scim.protocol"
PACKAGE_DIR = Path(axon_scim.protocol.__file__).parent
SOURCE_ROOT = PACKAGE_DIR.parent.parent  # the directory that holds axon_scim/
SOURCES = sorted(PACKAGE_DIR.rglob("*.py"))

# Third-party packages the protocol layer may import: none so far. A small
# pure-Python library could be named here; a web framework never.
ALLOWED_THIRD_PARTY: frozenset[str] = frozenset()
# What must never be loaded, even indirectly: the frameworks and the database driver.
FORBIDDEN_AT_RUNTIME = ("django", "rest_framework", "guardian", "psycopg")


def module_name(path: Path) -> str:
    """``axon_scim/protocol/filter/parser.py`` -> ``axon_scim.protocol.filter.parser``."""
    parts = path.relative_to(SOURCE_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool) -> list[str]:
    """The absolute name of every module that ``source`` (the text of ``module``) imports.

    A relative import is resolved the way Python does it; one that climbs
    above the top-level package comes back as ``"<beyond top level>"``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append(str(node.module))
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            if node.level > len(parts):
                found.append("<beyond top level>")
                continue
            base = ".".join(parts[: len(parts) - node.level + 1])
            if node.module:
                found.append(f"{base}.{node.module}")
            else:  # ``from .. import x``: x is a module of that package
                found.extend(f"{base}.{alias.name}" for alias in node.names)
    return found


def is_allowed(module: str) -> bool:
    """The protocol package itself, the standard library, or an allowed third party."""
    if module == PACKAGE or module.startswith(PACKAGE + "."):
        return True
    top = module.partition(".")[0]
    return top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY


def test_the_scan_sees_every_module_of_the_package() -> None:
    names = {module_name(path) for path in SOURCES}
    assert {PACKAGE, f"{PACKAGE}.filter.parser", f"{PACKAGE}.patch.apply"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE_DIR)))
def test_protocol_imports_only_itself_and_the_standard_library(path: Path) -> None:
    imports = imported_modules(
        path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py"
    )
    assert [name for name in imports if not is_allowed(name)] == []


def test_the_scan_catches_django_drf_and_imports_that_climb_out() -> None:
    source = (
        "from django.db import models\n"
        "import rest_framework.views\n"
        "from ...models import ScimUser\n"
        "from ... import services\n"
        "from .... import beyond\n"
        "def later():\n"
        "    from axon_scim import querying\n"
        "from ..errors import ScimError\n"
        "from . import nodes\n"
        "import json\n"
    )
    imports = imported_modules(source, f"{PACKAGE}.filter.parser", is_package=False)
    assert [name for name in imports if not is_allowed(name)] == [
        "django.db",
        "rest_framework.views",
        "axon_scim.models",
        "axon_scim.services",
        "<beyond top level>",
        "axon_scim",
    ]


def test_importing_the_whole_package_loads_no_framework_and_no_other_axon_module() -> None:
    script = (
        "import importlib, pkgutil, sys\n"
        f"import {PACKAGE} as package\n"
        "for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    # The child imports this checkout, whether or not axon_scim is installed.
    path = [str(SOURCE_ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.split()
    assert f"{PACKAGE}.filter.evaluate" in loaded  # the walk really imported the package
    assert [
        name
        for name in loaded
        if name.partition(".")[0] in FORBIDDEN_AT_RUNTIME
        or (name.startswith("axon_scim.") and not name.startswith(PACKAGE))
    ] == []
