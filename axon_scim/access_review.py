"""The access review: who holds which role, through which group, and since when.

One row per (SCIM user, role), and one row with no role for a user who holds
none, so an auditor sees every user of the organization, active or not. The
report costs two queries whatever the size of the organization: the users,
and the organization's role assignments.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db.models import F, FilteredRelation, Q

from .models import Organization, RoleAssignment, ScimUser

BY_HAND = "by hand"

CSV_HEADER = [
    "user_name",
    "user_id",
    "display_name",
    "active",
    "account",
    "role",
    "role_id",
    "granted_by",
    "group_ids",
    "since",
]

# A spreadsheet runs a cell starting with one of these as a formula; userNames and
# group names come from the IdP, so a CSV opened by an auditor must not execute them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class GrantingGroup:
    """A SCIM group whose mapping grants the role."""

    id: str
    display_name: str


@dataclass(frozen=True)
class ReviewRow:
    """One role held by one SCIM user, or a user holding no role (``role`` None)."""

    user_id: str
    user_name: str
    display_name: str
    active: bool | None
    account: str | None  # the portal account's username
    role_id: int | None
    role: str | None
    groups: tuple[GrantingGroup, ...]
    by_hand: bool
    since: datetime | None  # the earliest assignment of this role to this user

    @property
    def granted_by(self) -> list[str]:
        """The group names granting the role, then "by hand" for a manual grant."""
        return [group.display_name for group in self.groups] + ([BY_HAND] if self.by_hand else [])


@dataclass
class _Holding:
    role_id: int
    role: str
    groups: dict[str, str]  # SCIM id -> displayName
    by_hand: bool
    since: datetime


def review_rows(organization: Organization) -> list[ReviewRow]:
    """Every SCIM user of the organization with each role they hold, in two queries."""
    users = (
        ScimUser.objects.for_tenant(organization)
        .select_related("account")
        .order_by("user_name_lower", "id")
    )
    holdings = _holdings(organization)
    rows: list[ReviewRow] = []
    for user in users:
        held_roles = holdings.get(user.account_id, {}) if user.account_id is not None else {}
        rows.extend(_rows_of(user, held_roles))
    return rows


def _holdings(organization: Organization) -> dict[int, dict[int, _Holding]]:
    """Account id -> role id -> how the account holds the role, from every assignment."""
    holdings: dict[int, dict[int, _Holding]] = defaultdict(dict)
    # The group joined on the organization as well as its id: one shard (docs/scaling.md).
    same = Q(group__organization_id=F("organization_id"))
    assignments = (
        RoleAssignment.objects.for_tenant(organization)
        .select_related("role")
        .annotate(own_group=FilteredRelation("group", condition=same))
        .annotate(group_name=F("own_group__display_name"))
        .order_by("created", "id")
    )
    for assignment in assignments:
        held = holdings[assignment.account_id].get(assignment.role_id)
        if held is None:
            held = _Holding(
                role_id=assignment.role_id,
                role=assignment.role.name,
                groups={},
                by_hand=False,
                since=assignment.created,
            )
            holdings[assignment.account_id][assignment.role_id] = held
        held.since = min(held.since, assignment.created)
        if assignment.group_id is None:
            held.by_hand = True
        else:
            held.groups[str(assignment.group_id)] = assignment.group_name
    return holdings


def _rows_of(user: ScimUser, held_roles: dict[int, _Holding]) -> list[ReviewRow]:
    """One row per role the user holds, or one row without a role."""
    common: dict[str, Any] = {
        "user_id": str(user.pk),
        "user_name": user.user_name,
        "display_name": user.display_name,
        "active": user.active,
        "account": user.account.get_username() if user.account is not None else None,
    }
    if not held_roles:
        return [ReviewRow(**common, role_id=None, role=None, groups=(), by_hand=False, since=None)]
    rows = []
    for held in sorted(held_roles.values(), key=lambda h: (h.role.lower(), h.role_id)):
        groups = tuple(
            GrantingGroup(id=pk, display_name=name)
            for pk, name in sorted(held.groups.items(), key=lambda item: item[1].lower())
        )
        rows.append(
            ReviewRow(
                **common,
                role_id=held.role_id,
                role=held.role,
                groups=groups,
                by_hand=held.by_hand,
                since=held.since,
            )
        )
    return rows


def rows_as_dicts(rows: list[ReviewRow]) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts with snake_case keys and ISO 8601 times."""
    return [
        {
            "user_id": row.user_id,
            "user_name": row.user_name,
            "display_name": row.display_name,
            "active": row.active,
            "account": row.account,
            "role_id": row.role_id,
            "role": row.role,
            "groups": [{"id": g.id, "display_name": g.display_name} for g in row.groups],
            "by_hand": row.by_hand,
            "since": row.since.isoformat() if row.since else None,
        }
        for row in rows
    ]


def _cell(value: str) -> str:
    """Neutralize a value a spreadsheet would evaluate as a formula (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class SupportsWrite(Protocol):
    """A text file, or an ``HttpResponse``: anything ``csv.writer`` can write to."""

    def write(self, text: str, /) -> object: ...


def write_csv(rows: list[ReviewRow], stream: SupportsWrite) -> None:
    """Write a header line and one line per row; several groups are joined with "; "."""
    writer = csv.writer(stream)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            [
                _cell(row.user_name),
                row.user_id,
                _cell(row.display_name),
                "" if row.active is None else str(row.active).lower(),
                _cell(row.account or ""),
                _cell(row.role or ""),
                "" if row.role_id is None else str(row.role_id),
                _cell("; ".join(row.granted_by)),
                "; ".join(group.id for group in row.groups),
                row.since.isoformat() if row.since else "",
            ]
        )
