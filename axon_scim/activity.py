"""The SCIM activity of one organization, as the admin's activity page shows it.

"Is provisioning working?" in a handful of indexed queries, whatever the
size of the organization: the audit events of the last 30 days counted per
day and action in SQL (on the ``(organization, time)`` index), each token's
last request and last failure, the newest failed requests, and how many
users and groups there are. ``chart()`` turns the daily counts into the
bars of a server-rendered SVG chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils.timezone import get_current_timezone, localdate, make_aware

from .models import AuditEvent, Organization, ScimGroup, ScimRequestFailure, ScimToken, ScimUser

__all__ = [
    "ACTION_GROUPS",
    "DAYS",
    "ActionGroup",
    "Activity",
    "Bar",
    "Chart",
    "DayCounts",
    "TokenActivity",
    "activity",
    "chart",
    "daily_counts",
]

# Days the chart covers, today included.
DAYS = 30

# Failed requests listed on the page.
RECENT_FAILURES = 20


@dataclass(frozen=True)
class ActionGroup:
    """A series of the chart: the audit actions it counts, its label and colour."""

    key: str
    label: str
    color: str
    actions: tuple[str, ...]


# Identity providers send membership changes as group PATCHes and PUTs, so
# group.updated and group.replaced count as membership changes (a rename too).
ACTION_GROUPS = (
    ActionGroup("created", "created", "#2f7d32", ("user.created", "group.created")),
    ActionGroup("updated", "updated", "#1f5fa8", ("user.updated", "user.reactivated")),
    ActionGroup("deactivated", "deactivated", "#c77700", ("user.deactivated",)),
    ActionGroup("deleted", "deleted", "#b3261e", ("user.deleted", "group.deleted")),
    ActionGroup("membership", "membership changes", "#6a4c93", ("group.updated", "group.replaced")),
    ActionGroup("granted", "role grants", "#00838f", ("role.granted", "role.assigned_by_hand")),
    ActionGroup(
        "revoked", "role revocations", "#6d6d6d", ("role.revoked", "role.unassigned_by_hand")
    ),
)

_GROUP_OF_ACTION = {action: group.key for group in ACTION_GROUPS for action in group.actions}


@dataclass
class DayCounts:
    """The events of one day, by action group key."""

    day: date
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class TokenActivity:
    """A token with its last request and its last failed request (None if it never failed)."""

    token: ScimToken
    last_failure: ScimRequestFailure | None


@dataclass(frozen=True)
class Activity:
    """Everything the activity page shows for one organization."""

    organization: Organization
    days: list[DayCounts]
    tokens: list[TokenActivity]
    failures: list[ScimRequestFailure]
    users: int
    active_users: int
    groups: int
    mapped_groups: int


def activity(organization: Organization, today: date | None = None) -> Activity:
    """The organization's activity page, in seven queries."""
    users = ScimUser.objects.for_tenant(organization).aggregate(
        all=Count("pk"), active=Count("pk", filter=Q(active=True))
    )
    groups = ScimGroup.objects.for_tenant(organization).aggregate(
        all=Count("pk"), mapped=Count("pk", filter=Q(role__isnull=False))
    )
    failures = ScimRequestFailure.objects.for_tenant(organization).select_related("token")
    return Activity(
        organization=organization,
        days=daily_counts(organization, today),
        tokens=token_activity(organization),
        failures=list(failures.order_by("-id")[:RECENT_FAILURES]),
        users=users["all"],
        active_users=users["active"],
        groups=groups["all"],
        mapped_groups=groups["mapped"],
    )


def daily_counts(organization: Organization, today: date | None = None) -> list[DayCounts]:
    """The last ``DAYS`` days (in the current time zone), oldest first, with their counts.

    One query: the events since the first day's midnight, grouped by day and
    action in the database, read through the ``(organization, time)`` index.
    """
    today = today or localdate()
    first_day = today - timedelta(days=DAYS - 1)
    since = make_aware(datetime.combine(first_day, time.min), get_current_timezone())
    rows = (
        AuditEvent.objects.for_tenant(organization)
        .filter(time__gte=since, action__in=list(_GROUP_OF_ACTION))
        .annotate(day=TruncDate("time"))
        .values("day", "action")
        .annotate(count=Count("id"))
        .order_by()
    )
    days = {
        first_day + timedelta(days=n): DayCounts(first_day + timedelta(days=n)) for n in range(DAYS)
    }
    for row in rows:
        counts = days[row["day"]].counts if row["day"] in days else None
        if counts is not None:
            key = _GROUP_OF_ACTION[row["action"]]
            counts[key] = counts.get(key, 0) + row["count"]
    return list(days.values())


def token_activity(organization: Organization) -> list[TokenActivity]:
    """Every token of the organization, newest first, with its last failed request."""
    last_failure = ScimRequestFailure.objects.for_tenant(organization).filter(token=OuterRef("pk"))
    last_failure = last_failure.order_by("-id")
    tokens = list(
        ScimToken.objects.for_tenant(organization)
        .annotate(last_failure_id=Subquery(last_failure.values("id")[:1]))
        .order_by("-created", "-id")
    )
    failures = ScimRequestFailure.objects.for_tenant(organization).in_bulk(
        [token.last_failure_id for token in tokens if token.last_failure_id is not None]
    )
    return [TokenActivity(token, failures.get(token.last_failure_id)) for token in tokens]


# --- The chart ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One ``<rect>``: the events of one action group on one day."""

    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    """The geometry of the stacked bar chart, in SVG user units."""

    width: int
    height: int
    bars: list[Bar]
    max_total: int
    day_labels: list[tuple[float, str]]  # (x, label) under every seventh day


CHART_WIDTH = 720
CHART_HEIGHT = 200
_LEFT = 40  # room for the y axis labels
_RIGHT = 24  # room for the last day's label
_BOTTOM = 20  # room for the day labels


def chart(days: list[DayCounts]) -> Chart:
    """A stacked bar per day, one segment per action group with events that day."""
    max_total = max((day.total for day in days), default=0)
    slot = (CHART_WIDTH - _LEFT - _RIGHT) / max(len(days), 1)
    plot_height = CHART_HEIGHT - _BOTTOM
    scale = plot_height / max_total if max_total else 0.0
    bars: list[Bar] = []
    for index, day in enumerate(days):
        x = _LEFT + index * slot + slot * 0.15
        top = float(plot_height)
        for group in ACTION_GROUPS:
            count = day.counts.get(group.key, 0)
            if not count:
                continue
            height = count * scale
            top -= height
            title = f"{day.day.isoformat()}: {count} {group.label}"
            bars.append(
                Bar(
                    round(x, 2),
                    round(top, 2),
                    round(slot * 0.7, 2),
                    round(height, 2),
                    group.color,
                    title,
                )
            )
    labels = [
        (round(_LEFT + index * slot + slot / 2, 2), day.day.strftime("%b %d"))
        for index, day in enumerate(days)
        if index % 7 == (len(days) - 1) % 7
    ]
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, max_total, labels)
