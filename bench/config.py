"""Sizes, database names and ports shared by the seeding, serving and reporting steps."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

PG_BASE = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
OURS_DB = os.environ.get("BENCH_DB", "axon_bench")
DJSCIM2_DB = os.environ.get("BENCH_DB_DJSCIM2", "axon_bench_djscim2")
# Bump when the shape of the seeded data changes, so old databases are rebuilt.
SEED_VERSION = 3
ORG_SLUGS = ("bench-a", "bench-b")


def db_name(impl: str, mode: str) -> str:
    """The database of one implementation ("ours", "djscim2") in one mode; full gets its own."""
    base = OURS_DB if impl == "ours" else DJSCIM2_DB
    return base if mode == "quick" else f"{base}_{mode}"


@dataclass(frozen=True)
class Sizes:
    """What one mode seeds and how hard it drives each scenario."""

    mode: str
    users: int  # per organization
    small_groups: int  # per organization, ``group_size`` members each
    group_size: int
    requests: int  # per scenario and implementation
    time_limit: float  # seconds per scenario and implementation
    sync_time_limit: float  # seconds for one S9 full sync

    def seed_params(self) -> dict[str, object]:
        """What decides the seeded data; a database seeded with the same params is reused."""
        return {
            "version": SEED_VERSION,
            "users": self.users,
            "small_groups": self.small_groups,
            "group_size": self.group_size,
            "orgs": list(ORG_SLUGS),
        }

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


QUICK = Sizes(
    "quick",
    users=10_000,
    small_groups=1_000,
    group_size=10,
    requests=150,
    time_limit=8.0,
    sync_time_limit=30.0,
)
FULL = Sizes(
    "full",
    users=100_000,
    small_groups=1_000,
    group_size=10,
    requests=1_000,
    time_limit=45.0,
    sync_time_limit=180.0,
)


def sizes(full: bool) -> Sizes:
    return FULL if full else QUICK
