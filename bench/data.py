"""The deterministic data set: every name, email and id is a function of (organization, index).

Seeding writes these rows and the scenario plans compute the same values, so
no fixture list has to travel between processes and reruns hit the same rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

NAMESPACE = uuid.UUID("6f3a6b0e-6d1f-4c57-9a47-2b1f5d0c9e11")
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
DEPARTMENTS = ("Engineering", "Sales", "Support", "Finance", "Legal", "Operations", "Marketing")


def user_name(slug: str, i: int) -> str:
    return f"user{i:06d}@{slug}.example.com"


def work_email(slug: str, i: int) -> str:
    return f"u{i:06d}.work@{slug}.example.com"


def home_email(slug: str, i: int) -> str:
    return f"u{i:06d}.home@mail.example.org"


def given_name(i: int) -> str:
    return f"Given{i}"


def family_name(i: int) -> str:
    return f"Family{i}"


def created(i: int) -> datetime:
    return EPOCH + timedelta(seconds=i)


def manager_index(i: int) -> int | None:
    """Every hundredth user manages the next 99."""
    return None if i % 100 == 0 else i - i % 100


def user_uuid(slug: str, i: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{slug}/user/{i}")


def group_uuid(slug: str, g: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{slug}/group/{g}")


def big_group_uuid(slug: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{slug}/group/all")


def small_group_members(g: int, size: int, users: int) -> range:
    """Group ``g`` holds ``size`` consecutive users."""
    start = (g * size) % users
    return range(start, start + size)


# django-scim2's models use integer keys: organization ``o`` (0, 1) owns these.
def djscim2_user_id(o: int, i: int, users: int) -> int:
    return o * users + i + 1


def djscim2_client_id(o: int, users: int) -> int:
    """The account behind organization ``o``'s bearer token."""
    return 2 * users + o + 1


def djscim2_group_id(o: int, g: int, small_groups: int) -> int:
    return o * (small_groups + 1) + g + 1


def djscim2_big_group_id(o: int, small_groups: int) -> int:
    return o * (small_groups + 1) + small_groups + 1
