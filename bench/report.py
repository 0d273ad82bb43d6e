"""The results document (JSON) and its Markdown table, with ratios and the issue's targets.

The JSON keeps the shape other tools read::

    {"machine": {...}, "mode": "quick"|"full",
     "scenarios": {"S1": {"ours": {"rps", "p50_ms", "p99_ms", "queries", "rss_mb"},
                          "django_scim2": {...}|null, "floor": {...}|null}, ...}}

and adds ``details`` (requests, errors, response bytes, RSS growth, why an
implementation is left out), ``targets`` (each target met or missed, by how
much) and ``run`` (sizes, seeding and total time) beside it.
"""

from __future__ import annotations

from typing import Any

from bench import custom_attr
from bench import targets as goals
from bench.config import Sizes

IMPLEMENTATIONS = ("ours", "django_scim2", "floor")
CORE_KEYS = ("rps", "p50_ms", "p99_ms", "queries", "rss_mb")
DETAIL_KEYS = (
    "requests",
    "errors",
    "statuses",
    "seconds",
    "bytes",
    "queries_max",
    "rss_growth_mb",
    "mean_ms",
)
ORDER = ["S1", "S2", "S2b", "S2c", "S3", "S4", "S5", "S6", "S7", "S8", "S9"]


def _core(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if not result or not result.get("supported"):
        return None
    return {key: result.get(key) for key in CORE_KEYS}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _ordered(results: dict[str, Any]) -> list[str]:
    """S1..S9 in their order, then any other scenario (the extras' rows) by key."""
    return [k for k in ORDER if k in results] + sorted(k for k in results if k not in ORDER)


def _scenario(by_impl: dict[str, Any], title: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One scenario's row of ``scenarios`` (core figures) and of ``details``."""
    core = {impl: _core(by_impl.get(impl)) for impl in IMPLEMENTATIONS}
    details: dict[str, Any] = {"title": title}
    for impl in IMPLEMENTATIONS:
        result = by_impl.get(impl)
        if result is None:
            details[impl] = {"note": "not run"}
        elif not result.get("supported"):
            details[impl] = {"note": result.get("note")}
        else:
            details[impl] = {k: result.get(k) for k in DETAIL_KEYS}
    ours = core["ours"] or {}
    details["ours_vs_django_scim2"] = _ratio(
        ours.get("rps"), (core["django_scim2"] or {}).get("rps")
    )
    details["ours_vs_floor"] = _ratio(ours.get("rps"), (core["floor"] or {}).get("rps"))
    return core, details


def build(
    machine: dict[str, Any],
    size: Sizes,
    results: dict[str, dict[str, Any]],
    scenarios: dict[str, Any],
    *,
    seconds: float,
    seeding: dict[str, Any],
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The results document of one run; ``extras`` maps each ``bench.extras.Extra``'s
    ``doc_key`` to what its ``run`` measured."""
    from bench.extras import EXTRAS

    extras = extras or {}
    rows = {key: dict(by_impl) for key, by_impl in results.items()}
    titles = {key: scenarios[key].title for key in results}
    found: list[dict[str, Any]] = []
    for extra in EXTRAS:
        result = extras.get(extra.doc_key)
        if result is None:
            continue
        found += extra.targets(result)
        for key, row in (extra.rows(result) if extra.rows else {}).items():
            titles[key] = row["title"]
            rows[key] = {impl: row.get(impl) for impl in IMPLEMENTATIONS}
    doc: dict[str, Any] = {"machine": machine, "mode": size.mode, "scenarios": {}, "details": {}}
    for key in _ordered(rows):
        doc["scenarios"][key], doc["details"][key] = _scenario(rows[key], titles[key])
    doc.update(extras)
    doc["targets"] = goals.table(goals.measured(doc, size) + found)
    doc["run"] = {
        "sizes": size.as_dict(),
        "seconds": round(seconds, 1),
        "seeding": {
            impl: {k: v for k, v in (fx or {}).items() if not k.startswith("token")}
            for impl, fx in seeding.items()
        },
    }
    return doc


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


NAMES = {"ours": "axon-scim", "django_scim2": "django-scim2", "floor": "floor"}


def _header(doc: dict[str, Any]) -> list[str]:
    m, run = doc["machine"], doc["run"]
    return [
        f"# axon-scim benchmark ({doc['mode']} mode)",
        "",
        f"{m['date']}, commit `{m['commit']}`. {m['cores']} cores ({m['cpu']}), "
        f"{_fmt(m['memory_mb'])} MB RAM; Python {m['python']}, Django {m['django']}, "
        f"DRF {m['djangorestframework']}, PostgreSQL {m['postgresql']}, psycopg {m['psycopg']}, "
        f"gunicorn {m['gunicorn']} ({m['workers']} sync workers), django-scim2 "
        f"{m['django_scim2'] or 'not installed'}. Load: concurrency {m['concurrency']}, "
        f"{run['sizes']['requests']} requests or {run['sizes']['time_limit']:g} s per "
        f"scenario and implementation, in 3 rounds that alternate the implementations, "
        f"from a separate process on the same machine. Load average at start "
        f"{m['load_average_start'][0]:g}, at end {m['load_average_end'][0]:g} "
        f"(other work on the machine).",
        "",
        f"Data: 2 organizations of {run['sizes']['users']:,} users (two emails each, "
        f"enterprise attributes, a manager), {run['sizes']['small_groups']:,} groups of "
        f"{run['sizes']['group_size']} and one group of all {run['sizes']['users']:,} users "
        f"each. The token is organization A's; organization B also declares its own attribute "
        f"`costCenter`, one value per user, which S2c filters with B's token. "
        f"Total run time {run['seconds']:.0f} s.",
        "",
    ]


def _row(key: str, impl: str, core: dict[str, Any], details: dict[str, Any]) -> str:
    extra = details.get(impl) or {}
    label = f"**{key}** {details['title']}" if impl == "ours" else ""
    ratio = ""
    if impl != "ours":
        which = "ours_vs_django_scim2" if impl == "django_scim2" else "ours_vs_floor"
        ratio = _fmt(details[which], 2)
    rss = _fmt(core["rss_mb"])
    if extra.get("rss_growth_mb") is not None and key not in ORDER[:9]:
        rss += f" ({extra['rss_growth_mb']:+,.1f})"
    errors = f" ({extra['errors']} errors)" if extra.get("errors") else ""
    return (
        f"| {label} | {NAMES[impl]} | {_fmt(core['rps'])}{errors} | "
        f"{_fmt(core['p50_ms'])} | {_fmt(core['p99_ms'])} | {_fmt(core['queries'])} | "
        f"{_fmt(extra.get('bytes'))} | {rss} | {ratio} |"
    )


def _table(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The scenario table's rows, and why implementations were left out."""
    lines, notes = [], []
    for key, by_impl in doc["scenarios"].items():
        details = doc["details"][key]
        for impl in IMPLEMENTATIONS:
            core, note = by_impl.get(impl), (details.get(impl) or {}).get("note")
            if core is not None:
                lines.append(_row(key, impl, core, details))
            elif key in ORDER or impl == "ours" or note != "not run":
                # An extra's row shows only the implementations it measured.
                label = f"**{key}** {details['title']}" if impl == "ours" else ""
                lines.append(f"| {label} | {NAMES[impl]} | n/a | | | | | | |")
                if note and note != "not run":
                    notes.append(f"- {key}, {NAMES[impl]}: {note}")
    return lines, notes


def markdown(doc: dict[str, Any]) -> str:
    """The results as a Markdown page: machine, table, ratios, extras, targets, notes."""
    from bench.extras import EXTRAS

    rows, notes = _table(doc)
    lines = [
        *_header(doc),
        "| scenario | impl | req/s | p50 ms | p99 ms | queries/req | bytes/resp | peak RSS MB |"
        " ours ÷ it |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "`ours ÷ it` is axon-scim's req/s divided by that implementation's. "
        "Peak RSS is the highest worker's; (+N) is its growth during the scenario. "
        "S9 runs as one client paging sequentially (concurrency 1); its req/s are pages/s.",
        "",
    ]
    if notes:
        lines += ["Implementations left out of a scenario:", "", *notes, ""]
    for extra in EXTRAS:
        if doc.get(extra.doc_key):
            lines += extra.markdown(doc[extra.doc_key])
    if doc.get("plans"):
        lines += custom_attr.markdown(doc["plans"])
    lines += _targets(doc["targets"])
    return "\n".join(lines)


def _targets(found: list[dict[str, Any]]) -> list[str]:
    """The targets table, and what would close each missed one."""
    lines = ["## Targets (issue 12)", "", "| target | measured | met |", "|---|---|---|"]
    for target in found:
        met = {True: "yes", False: f"**no**: {target['gap']}", None: "-"}[target["met"]]
        lines.append(f"| {target['target']} | {target['measured']} | {met} |")
    lines.append("")
    missed = [t for t in found if t["met"] is False]
    if missed:
        lines += ["## What would close the missed targets", ""]
        for target in missed:
            remedy = goals.REMEDIES.get(target["id"], "not analysed yet")
            lines.append(f"- **{target['target']}**: {remedy}")
        lines.append("")
    return lines
