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

from bench import bigroup, cursor_walk
from bench.bulk import markdown as bulk_markdown
from bench.bulk import target as bulk_target
from bench.config import Sizes
from bench.limits import markdown as heaviest_markdown
from bench.limits import target as heaviest_target

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
FULL_USERS = 100_000

# What would close each target when it is missed: from profiling the views
# (cProfile, EXPLAIN ANALYZE) and the per-request query logs, at commit b0ad0ba.
# Re-check when the views change.
REMEDIES: dict[str, str] = {
    "S1: at least 75%": "Measured in process (cProfile, CPU time per request) after issue "
    "12: axon-scim's Python costs what the floor's does (about 2.6 ms each). What is left is "
    "one more round trip, the token lookup the floor does not make, and the ORM compiling "
    "the filter's query (about 0.5 ms). The value rows, groups and token are plain SQL "
    "already; the statement timeout is kept between requests. On a shared machine the "
    "quick run's 150 requests swing this ratio by 0.3 from run to run: judge at FULL=1.",
    "S2: at least 75%": "As S1; the Exists() subquery costs the ORM about twice the "
    "compile time of S1's lookup, and the floor pays it too.",
    "S3: at least 30x": "The OFFSET now walks ids only and joins the page's 100 rows "
    "afterwards. What is left is rendering and projecting 100 documents (about a third "
    "of the time): a compiled projection plan. django-scim2 counts by loading every "
    "user, so this ratio grows with the organization: judge it at FULL=1.",
    "S6: at most 8": "11 statements: token, group lock, the users' lock (which also "
    "proves the ids are users), the member ids before, the membership insert or delete, "
    "the member ids after, the users' version bump, the group update, the audit chain's "
    "lock and its events with the head's move (one WITH ... INSERT), and one read of "
    "the members for the response. Measuring the change with INSERT/DELETE ... "
    "RETURNING instead of the two reads, and locking and bumping the users in one "
    "UPDATE ... RETURNING, would make it 8.",
    "S6: at least 5x": "Each PATCH also bumps the version of every user who joins or "
    "leaves (their groups changed) and appends to the audit chain; django-scim2 does "
    "neither. The chain head's row lock serializes writers of one organization for "
    "the length of its last three statements.",
    "S8: under 1.0 s": "PostgreSQL writes each member's JSON text; a group past 5,000 "
    "members is declared as a held cursor (one REPEATABLE READ snapshot with the group's "
    "version) and streamed a chunk of 5,000 per FETCH. What is left is PostgreSQL's: "
    "building 100,000 JSON texts and materializing the held cursor at commit. The floor "
    "streams its members alike.",
    "S8: worker RSS": "Past 5,000 members the body is streamed chunk by chunk (see S8b): "
    "a worker holds one chunk of about 0.9 MB at a time.",
    "S4: at least as fast": "7 statements against django-scim2's 4, because a POST also "
    "creates the portal account (insert, then link) and appends to the audit chain "
    "(lock, then the events and the head's move in one statement). Creating the "
    "account before the user would save 1.",
    "S5: at least as fast": "8 statements: token, user lock (with its account), its "
    "values and groups (read once, rendered from memory afterwards), the update, "
    "two for the audit chain; value rows and the account are written only when they "
    "change. The rest is Python: normalizing and applying the PATCH and rendering the "
    "before/after snapshots for the audit event.",
    "L1..L12": "What grows with the organization rather than the request is a member "
    "change on a mapped group that the state makes large (L6, every member leaving): "
    "per account, one role assignment, two permission rows, a version bump and one "
    "sealed audit event (written by COPY), in chunks of 1,000 ids bound one parameter "
    "each. Set-based role sync (INSERT ... SELECT, DELETE ... USING) would make it one "
    "statement per table. Or-ed multi-valued filters (L9, L10) compile to uncorrelated "
    "IN subqueries of the tenant and no longer grow with it. The statement timeout "
    "answers 503 where a single statement runs past it.",
    "S10: a Bulk": "The operations run one after another, each a whole creation: 7 "
    "statements (the user, its emails, the account and its link, three for the audit "
    "chain) and a commit, plus the normalization and the audit snapshot in Python. On a "
    "machine busy with other work both queue. Taking the chain head with one UPDATE ... "
    "RETURNING and creating the account before the user would save 2 of the 7.",
    "S9: a full sync": "Each page costs what an S3 page costs at 10x the size, and "
    "OFFSET grows with the page. A client that pages by cursor (RFC 9865, S11) seeks "
    "instead of skipping, and is counted once per walk rather than once per page.",
    "S11: a cursor page": "Read the plan of the deep page (EXPLAIN): it must be an Index "
    "Scan on axon_scim_user_created with the row comparison (created, id) > (...) in its "
    "Index Cond; anything else reads the rows before the position.",
}


def _core(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if not result or not result.get("supported"):
        return None
    return {key: result.get(key) for key in CORE_KEYS}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def build(
    machine: dict[str, Any],
    size: Sizes,
    results: dict[str, dict[str, Any]],
    scenarios: dict[str, Any],
    *,
    seconds: float,
    seeding: dict[str, Any],
    limits: dict[str, Any] | None = None,
    walk: dict[str, Any] | None = None,
    bulk: dict[str, Any] | None = None,
    big_group: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The results document of one run; ``limits``, ``walk`` and ``bulk`` are what
    ``bench.limits.run``, ``bench.cursor_walk.run`` and ``bench.bulk.run`` measured."""
    doc: dict[str, Any] = {
        "machine": machine,
        "mode": size.mode,
        "scenarios": {},
        "details": {},
        "targets": [],
        "run": {},
    }
    for key, by_impl in results.items():
        doc["scenarios"][key] = {impl: _core(by_impl.get(impl)) for impl in IMPLEMENTATIONS}
        details: dict[str, Any] = {"title": scenarios[key].title}
        for impl in IMPLEMENTATIONS:
            result = by_impl.get(impl)
            if result is None:
                details[impl] = {"note": "not run"}
            elif not result.get("supported"):
                details[impl] = {"note": result.get("note")}
            else:
                details[impl] = {k: result.get(k) for k in DETAIL_KEYS}
        ours = doc["scenarios"][key]["ours"] or {}
        details["ours_vs_django_scim2"] = _ratio(
            ours.get("rps"), (doc["scenarios"][key]["django_scim2"] or {}).get("rps")
        )
        details["ours_vs_floor"] = _ratio(
            ours.get("rps"), (doc["scenarios"][key]["floor"] or {}).get("rps")
        )
        doc["details"][key] = details
    doc["targets"] = targets(doc, size)
    if walk:
        doc["cursor_walk"] = walk
        doc["targets"].append(cursor_walk.target(walk))
    if limits:
        doc["limits"] = limits
        doc["targets"].append(heaviest_target(limits))
    if bulk:
        doc["bulk"] = bulk
        doc["targets"].append(bulk_target(bulk))
    if big_group:
        doc["big_group"] = big_group
        doc["targets"].append(bigroup.target(big_group))
    doc["run"] = {
        "sizes": size.as_dict(),
        "seconds": round(seconds, 1),
        "seeding": {
            impl: {k: v for k, v in (fx or {}).items() if k != "token"}
            for impl, fx in seeding.items()
        },
    }
    return doc


def _get(doc: dict[str, Any], key: str, impl: str, field: str) -> Any:
    return ((doc["scenarios"].get(key) or {}).get(impl) or {}).get(field)


def targets(doc: dict[str, Any], size: Sizes) -> list[dict[str, Any]]:
    """Each target of issue 4 with what was measured, met or missed, and by how much."""
    out: list[dict[str, Any]] = []

    def add(name: str, met: bool | None, measured: str, gap: str = "") -> None:
        out.append({"target": name, "met": met, "measured": measured, "gap": "" if met else gap})

    # S8 streams since issue 12: before the first byte, the token, the group and a size
    # probe, then (past 5,000 members) SET TRANSACTION, the group and DECLARE in one
    # REPEATABLE READ snapshot; the FETCHes run as the body is sent, uncounted.
    limits = {"S1": 4, "S2": 4, "S3": 5, "S6": 8, "S7": 4, "S8": 6, "S9": 5}
    for key, limit in limits.items():
        queries = _get(doc, key, "ours", "queries")
        maximum = (doc["details"].get(key, {}).get("ours") or {}).get("queries_max", queries)
        if queries is None:
            add(f"{key}: at most {limit} SQL queries per request", None, "not measured")
        else:
            add(
                f"{key}: at most {limit} SQL queries per request",
                maximum <= limit,
                f"{queries:g} on average, {maximum:g} at most",
                f"{maximum - limit:g} over",
            )
    for key in ("S1", "S2"):  # issue 12: 75% of the floor
        ratio = doc["details"].get(key, {}).get("ours_vs_floor")
        add(
            f"{key}: at least 75% of the floor's throughput",
            None if ratio is None else ratio >= 0.75,
            "not measured" if ratio is None else f"{ratio:.0%} of the floor",
            "" if ratio is None else f"{0.75 - ratio:.0%} short (x{0.75 / ratio:.2f} needed)",
        )
    for key, factor in (("S3", 30), ("S6", 5)):
        ratio = doc["details"].get(key, {}).get("ours_vs_django_scim2")
        add(
            f"{key}: at least {factor}x django-scim2's throughput",
            None if ratio is None else ratio >= factor,
            "not measured" if ratio is None else f"{ratio:g}x django-scim2",
            "" if ratio is None else f"x{factor / ratio:.2f} more needed",
        )
    # Judged on the median: with 4 clients on 2 workers, half of a request's time is
    # waiting for a worker; p99 is shown beside it.
    p50 = _get(doc, "S8", "ours", "p50_ms")
    p99 = _get(doc, "S8", "ours", "p99_ms")
    growth = (doc["details"].get("S8", {}).get("ours") or {}).get("rss_growth_mb")
    scale = (
        ""
        if size.users >= FULL_USERS
        else f" (at {size.users:,} members; the target is for {FULL_USERS:,}: run FULL=1)"
    )
    add(
        "S8: under 1.0 s per request" + scale,
        None if p50 is None else p50 < 1000,
        "not measured" if p50 is None else f"p50 {p50:,.0f} ms, p99 {p99:,.0f} ms",
        f"p50 {(p50 or 0) - 1000:,.0f} ms over",
    )
    add(
        "S8: worker RSS grows by less than 150 MB" + scale,
        None if growth is None else growth < 150,
        "not measured" if growth is None else f"{growth:g} MB",
        f"{(growth or 0) - 150:g} MB over",
    )
    baseline = _get(doc, "S4", "django_scim2", "rps")
    for key in ("S4", "S5"):
        rps = _get(doc, key, "ours", "rps")
        met = None if rps is None or baseline is None else rps >= baseline
        add(
            f"{key}: at least as fast as django-scim2's POST",
            met,
            "not measured" if met is None else f"{rps:g} vs {baseline:g} req/s",
            "" if met is None else f"{1 - rps / baseline:.0%} slower",
        )
    sync = doc["details"].get("S9", {}).get("ours") or {}
    if sync.get("seconds") and sync.get("requests"):
        pages = -(-size.users // 1000)
        total = sync["seconds"] * pages / sync["requests"] * FULL_USERS / size.users
        note = "" if size.users >= FULL_USERS else f" (projected from {size.users:,} users)"
        add(
            "S9: a full sync of 100,000 users in under 60 s",
            total < 60,
            f"{total:.1f} s{note}",
            f"{total - 60:.1f} s over",
        )
    else:
        add("S9: a full sync of 100,000 users in under 60 s", None, "not measured")
    return out


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(doc: dict[str, Any]) -> str:
    """The results as a Markdown page: machine, table, ratios, targets, notes."""
    m = doc["machine"]
    run = doc["run"]
    lines = [
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
        f"each. The token is organization A's. Total run time {run['seconds']:.0f} s.",
        "",
        "| scenario | impl | req/s | p50 ms | p99 ms | queries/req | bytes/resp | peak RSS MB |"
        " ours ÷ it |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"ours": "axon-scim", "django_scim2": "django-scim2", "floor": "floor"}
    notes: list[str] = []
    for key, by_impl in doc["scenarios"].items():
        details = doc["details"][key]
        for impl in IMPLEMENTATIONS:
            core, extra = by_impl.get(impl), details.get(impl) or {}
            label = f"**{key}** {details['title']}" if impl == "ours" else ""
            if core is None:
                lines.append(f"| {label} | {names[impl]} | n/a | | | | | | |")
                if extra.get("note") and extra["note"] != "not run":
                    notes.append(f"- {key}, {names[impl]}: {extra['note']}")
                continue
            ratio = (
                ""
                if impl == "ours"
                else _fmt(
                    details["ours_vs_django_scim2" if impl == "django_scim2" else "ours_vs_floor"],
                    2,
                )
            )
            rss = _fmt(core["rss_mb"])
            if extra.get("rss_growth_mb") is not None and key in ("S8", "S9"):
                rss += f" ({extra['rss_growth_mb']:+,.1f})"
            errors = f" ({extra['errors']} errors)" if extra.get("errors") else ""
            lines.append(
                f"| {label} | {names[impl]} | {_fmt(core['rps'])}{errors} | "
                f"{_fmt(core['p50_ms'])} | {_fmt(core['p99_ms'])} | {_fmt(core['queries'])} | "
                f"{_fmt(extra.get('bytes'))} | {rss} | {ratio} |"
            )
    lines += [
        "",
        "`ours ÷ it` is axon-scim's req/s divided by that implementation's. "
        "Peak RSS is the highest worker's; (+N) is its growth during the scenario. "
        "S9 runs as one client paging sequentially (concurrency 1); its req/s are pages/s.",
        "",
    ]
    if notes:
        lines += ["Implementations left out of a scenario:", "", *notes, ""]
    if doc.get("cursor_walk"):
        lines += cursor_walk.markdown(doc["cursor_walk"])
    if doc.get("limits"):
        lines += heaviest_markdown(doc["limits"])
    if doc.get("bulk"):
        lines += bulk_markdown(doc["bulk"])
    if doc.get("big_group"):
        lines += bigroup.markdown(doc["big_group"])
    lines += ["## Targets (issues 4, 7 and 9)", "", "| target | measured | met |", "|---|---|---|"]
    for target in doc["targets"]:
        met = {True: "yes", False: f"**no**: {target['gap']}", None: "-"}[target["met"]]
        lines.append(f"| {target['target']} | {target['measured']} | {met} |")
    lines.append("")
    missed = [t for t in doc["targets"] if t["met"] is False]
    if missed:
        lines += ["## What would close the missed targets", ""]
        for target in missed:
            remedy = next(
                (text for key, text in REMEDIES.items() if target["target"].startswith(key)),
                "not analysed yet",
            )
            lines.append(f"- **{target['target']}**: {remedy}")
        lines.append("")
    return "\n".join(lines)
