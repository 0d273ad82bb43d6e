"""The scenarios that run outside the load generator's rounds, as one registry.

``bench.run`` runs each ``Extra`` that ``--only`` selects, after S1..S9,
against axon-scim's server, and ``bench.report`` puts its result in the JSON
document (under ``doc_key``), its section on the results page and its targets
in the targets table. To add one (S8b's ``bench.bigroup``, for example), write a
module with

- ``run(ctx: Context) -> dict | None``: what it measured (None: nothing to report);
- ``markdown(result) -> list[str]``: its section of the results page;
- ``target(result) -> dict`` (or a list of them): ``{"id", "met", "measured", "gap"}``,
  where ``id`` is one of ``bench.targets.CATALOG``; optionally
- ``rows(result) -> {key: {"title": str, "ours": {...}, "floor": {...}}}``: rows for the
  main table, each implementation's result shaped as the load generator's summary
  (``rps``, ``p50_ms``, ``p99_ms``, ``queries``, ``rss_mb``, ``rss_growth_mb``,
  ``bytes``, ``supported``);

and add one ``Extra`` line to ``EXTRAS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import bigroup, bulk, bulk_import, contention, cursor_walk, limits
from bench.config import Sizes

Result = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What an extra scenario gets: axon-scim's server, organization A's token, the run."""

    port: int
    token: str
    size: Sizes
    say: Callable[[str], None]
    workdir: Path
    fixtures: dict[str, Any] = field(default_factory=dict)  # what bench.seed returned


@dataclass(frozen=True)
class Extra:
    keys: tuple[str, ...]  # what ``--only`` selects it by (upper case: S8B, S10I)
    doc_key: str  # where its result goes in the JSON document
    run: Callable[[Context], Result | None]
    markdown: Callable[[Result], list[str]]
    target: Callable[[Result], dict[str, Any] | list[dict[str, Any]]]
    rows: Callable[[Result], dict[str, Result]] | None = None
    # A heavy extra (S8b seeds a million users) runs when ``--only`` names it, or in a
    # FULL run of every scenario; never in a quick run by default.
    heavy: bool = False

    def selected(self, only: list[str], full: bool = False) -> bool:
        if only:
            return any(key in only for key in self.keys)
        return full or not self.heavy

    def targets(self, result: Result) -> list[dict[str, Any]]:
        found = self.target(result)
        return found if isinstance(found, list) else [found]


EXTRAS: list[Extra] = [
    Extra(
        ("S11",),
        "cursor_walk",
        lambda ctx: cursor_walk.run(ctx.port, ctx.token, ctx.size, ctx.say),
        cursor_walk.markdown,
        cursor_walk.target,
    ),
    Extra(
        ("L",),
        "limits",
        lambda ctx: limits.run(ctx.port, ctx.token, ctx.size, ctx.say),
        limits.markdown,
        limits.target,
    ),
    Extra(
        ("S10",),
        "bulk",
        lambda ctx: bulk.run(ctx.port, ctx.token, ctx.say),
        bulk.markdown,
        bulk.target,
    ),
    Extra(
        ("S10", "S10I"), "bulk_import", bulk_import.run, bulk_import.markdown, bulk_import.target
    ),
    Extra(("S12",), "contention", contention.run, contention.markdown, contention.target),
    Extra(("S8B",), "big_group", bigroup.run, bigroup.markdown, bigroup.target, heavy=True),
]
