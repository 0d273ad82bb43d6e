"""The query checker: every statement axon_scim issues on a tenant table names one organization.

A database distributed by ``organization_id`` (Citus) routes a statement to
one shard when every distributed table in it is constrained to one value of
that column: ``<table>.organization_id = %s`` (or ``IN`` one value) in a WHERE
or a join, ``a.organization_id = b.organization_id`` with ``b`` constrained,
or the column in an INSERT whose rows all carry the same value. ``check_sql``
tells whether a statement is such a *single-shard* statement; it is a lexical
checker made for the SQL Django and axon_scim write (quoted names, ``%s``
parameters), strict where it must be: a tenant table it cannot see
constrained is a violation.

The suite runs it on every statement (``conftest.py``, ``tenancy_checker``):
a statement counts as axon_scim's when a frame of ``axon_scim`` (its model
modules aside, which factories also call) is on the stack, whatever thread
runs it. Statements of the test's own set-up and assertions are not judged.
A violation fails the test unless the statement runs inside
``axon_scim.tenancy.cross_organization(reason)`` with a reason of
``ALLOWED_REASONS``. ``AXON_TENANCY_CHECK=0`` turns the checker off, and
``AXON_TENANCY_LOG=<file>`` lists the violations in a file instead of failing.

Its limits, as a lexical checker: a predicate is taken wherever it stands, so
one under ``OR`` (which Django's ``for_tenant`` never writes) would pass; an
alias reused by two subqueries (Django's ``U0``) counts for both; and what
bypasses Django's cursor wrapper (the audit log's ``COPY``, whose rows carry
``organization_id``; the DB-API cursor of ``timeouts``) is not seen.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
from django.apps import apps
from django.db.backends.utils import CursorWrapper

import axon_scim
from axon_scim.tenancy import cross_organization_reason

#: Tables with organization_id kept whole on every node (Citus reference tables,
#: docs/scaling.md): a token is found by its hash before its organization is
#: known; roles are few, rarely written, and joined from groups and assignments.
REFERENCE_MODELS = {"ScimToken", "Role"}

#: The only reasons for which a statement may span organizations, and why each is needed.
ALLOWED_REASONS = {
    "django admin": "the admin is the operators' view of every organization: lists, pages by id",
}


def tenant_tables() -> set[str]:
    """axon_scim's tables with an organization_id column, but the reference ones."""
    return {
        model._meta.db_table
        for model in apps.get_app_config("axon_scim").get_models()
        if model.__name__ not in REFERENCE_MODELS
        and any(f.column == "organization_id" for f in model._meta.concrete_fields)
    }


# A name a statement gives a table: quoted, or a bare identifier that is not a keyword.
_KEYWORDS = (
    "ON|WHERE|LEFT|RIGHT|INNER|OUTER|FULL|CROSS|JOIN|SET|ORDER|GROUP|LIMIT|OFFSET|USING"
    "|VALUES|RETURNING|FOR|UNION|EXCEPT|INTERSECT|HAVING|WINDOW|AS"
)
_IDENT = rf'"\w+"|(?!(?:{_KEYWORDS})\b)[A-Za-z_]\w*'
_REF = re.compile(
    rf'\b(?P<kind>FROM|JOIN|UPDATE|INTO)\s+"(?P<table>\w+)"(?:\s+(?:AS\s+)?(?P<alias>{_IDENT}))?',
    re.IGNORECASE,
)
_QUAL = rf"(?:(?P<q>{_IDENT})\.)?"
_ORG = r'"?organization_id"?'
_CONST = re.compile(
    _QUAL
    + _ORG
    + r"\s*(?P<op>=|IN\s*\(|=\s*ANY\s*\()\s*(?P<value>(?:%s|\d+)(?:\s*,\s*(?:%s|\d+))*)",
    re.IGNORECASE,
)
_JOIN = re.compile(
    rf"(?P<a>{_IDENT})\." + _ORG + rf"\s*=\s*\(?(?P<b>{_IDENT})\." + _ORG,
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"(?<!%)%s")
_INSERT = re.compile(
    r'INSERT\s+INTO\s+"(?P<table>\w+)"\s*\((?P<columns>[^)]*)\)\s*VALUES\s*(?P<rows>.*?)'
    r"(?:\s+ON\s+CONFLICT|\s+RETURNING|$)",
    re.IGNORECASE | re.DOTALL,
)


def _values(sql: str, match: re.Match[str], params: Sequence[Any]) -> list[Any]:
    """The organization ids a constant predicate names (parameters looked up by position)."""
    before = len(_PLACEHOLDER.findall(sql, 0, match.start("value")))
    values: list[Any] = []
    for index, item in enumerate(re.split(r"\s*,\s*", match.group("value"))):
        values.append(params[before + index] if item == "%s" else int(item))
    return values


def _insert_problem(sql: str, params: Sequence[Any], tables: set[str]) -> str | None:
    insert = _INSERT.search(sql)
    if insert is None or insert.group("table") not in tables:
        return None
    columns = [c.strip().strip('"') for c in insert.group("columns").split(",")]
    if "organization_id" not in columns:
        return f"INSERT INTO {insert.group('table')} without organization_id"
    before = len(_PLACEHOLDER.findall(sql, 0, insert.start("rows")))
    rows = _PLACEHOLDER.findall(insert.group("rows"))
    width, at = len(columns), columns.index("organization_id")
    orgs = {params[before + row + at] for row in range(0, len(rows), width)} if rows else set()
    if len(orgs) > 1:
        return f"INSERT INTO {insert.group('table')} spans organizations {sorted(orgs)}"
    return None


def check_sql(sql: str, params: Sequence[Any] | None, tables: set[str]) -> str | None:
    """Why ``sql`` is not a single-shard statement on ``tables``, or None when it is."""
    params = list(params or [])
    refs = [m for m in _REF.finditer(sql) if m.group("table") in tables]
    if not refs:
        return None
    problem = _insert_problem(sql, params, tables)
    if problem:
        return problem
    constrained: set[str] = set()
    unqualified = False
    orgs: set[Any] = set()
    for match in _CONST.finditer(sql):
        orgs.update(_values(sql, match, params))
        if match.group("q"):
            constrained.add(match.group("q").strip('"'))
        else:
            unqualified = True
    edges = [(m.group("a").strip('"'), m.group("b").strip('"')) for m in _JOIN.finditer(sql)]
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            if (a in constrained) != (b in constrained):
                constrained |= {a, b}
                changed = True
    if len(orgs) > 1:
        return f"names several organizations {sorted(orgs, key=str)}"
    for ref in refs:
        if ref.group("kind").upper() == "INTO":
            continue  # INSERTs are judged by their column list above
        name = (ref.group("alias") or ref.group("table")).strip('"')
        if name in constrained or (unqualified and not ref.group("alias")):
            continue
        if unqualified and len(refs) == 1:
            continue
        return f"{ref.group('table')} ({name}) is not constrained by organization_id"
    return None


PACKAGE = Path(axon_scim.__file__).parent
#: Frames of these axon_scim modules do not make a statement axon_scim's (factories call them).
MODEL_MODULES = {
    PACKAGE / name
    for name in ("models.py", "audit_models.py", "extension_models.py", "tenant_rows.py")
}
#: A frame of Django's request handler: the statement serves a request (of any view).
HANDLER = str(Path(django.__file__).parent / "core" / "handlers" / "base.py")


def axon_scim_caller() -> str | None:
    """Who issued the running statement, when it is axon_scim's to judge, else None.

    The innermost frame of axon_scim (its model modules aside), as
    ``file:function:line``; else ``request`` when Django's request handler is
    on the stack (a view's queryset that Django or DRF evaluates).
    """
    frame = sys._getframe(2)
    package, models = str(PACKAGE) + os.sep, {str(p) for p in MODEL_MODULES}
    serving = False
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(package) and filename not in models:
            return f"{filename[len(package) :]}:{frame.f_code.co_qualname}:{frame.f_lineno}"
        serving = serving or filename == HANDLER
        frame = frame.f_back  # type: ignore[assignment]
    return "request" if serving else None


@dataclass
class Violation:
    sql: str
    problem: str
    caller: str
    reason: str | None = None


@dataclass
class TenancyChecker:
    """Judges the statements run while it is installed; keeps the violations and the reasons."""

    tables: set[str] = field(default_factory=tenant_tables)
    violations: list[Violation] = field(default_factory=list)
    reasons_used: set[str] = field(default_factory=set)
    checked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def judge(self, sql: str, params: Any, many: bool) -> None:
        caller = axon_scim_caller() if isinstance(sql, str) else None
        if caller is None:
            return
        rows = params if many else [params]
        problems = {p for row in (rows or [None]) if (p := check_sql(sql, row, self.tables))}
        with self.lock:
            self.checked += 1
            if not problems:
                return
            reason = cross_organization_reason()
            if reason in ALLOWED_REASONS:
                self.reasons_used.add(reason)
                return
            self.violations.append(Violation(sql, "; ".join(sorted(problems)), caller, reason))

    def report(self) -> str:
        lines = [f"{len(self.violations)} statement(s) not constrained by organization_id:"]
        for v in self.violations[:10]:
            why = f" (inside cross_organization({v.reason!r}), not allowed)" if v.reason else ""
            lines.append(f"- {v.caller}: {v.problem}{why}:\n  {v.sql[:600]}")
        return "\n".join(lines)


@contextmanager
def checking(checker: TenancyChecker) -> Iterator[TenancyChecker]:
    """Judge every statement run through Django's cursors, in every thread, until exit."""
    original: Callable[..., Any] = CursorWrapper._execute_with_wrappers

    def judged(self: CursorWrapper, sql: Any, params: Any, many: bool, executor: Any) -> Any:
        checker.judge(sql, params, many)
        return original(self, sql, params, many, executor)

    CursorWrapper._execute_with_wrappers = judged  # type: ignore[method-assign]
    try:
        yield checker
    finally:
        CursorWrapper._execute_with_wrappers = original  # type: ignore[method-assign]


def enabled() -> bool:
    return os.environ.get("AXON_TENANCY_CHECK", "1") != "0"
