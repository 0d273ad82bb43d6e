"""The SCIM activity page: counts per day and kind, tokens, failures, the chart, the admin page."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import translation
from django.utils.timezone import get_current_timezone, localdate, make_aware

from axon_scim.activity import DAYS, DayCounts, activity, chart, daily_counts
from axon_scim.models import AuditEvent, Organization, ScimRequestFailure
from axon_scim.services import issue_token, revoke_token

from .factories import AccountFactory, ScimGroupFactory, ScimUserFactory, make_role

pytestmark = pytest.mark.django_db

TODAY = date(2025, 3, 31)


def event(organization: Organization, action: str, day: date, hour: int = 12) -> None:
    moment = make_aware(datetime(day.year, day.month, day.day, hour), get_current_timezone())
    AuditEvent.objects.create(
        organization=organization, action=action, resource_type="x", time=moment
    )


def activity_url(organization: Organization) -> str:
    return f"/admin/axon_scim/organization/{organization.pk}/activity/"


def test_daily_counts_group_the_last_30_days_by_kind(org, other_org):
    for action in ("user.created", "group.created", "user.reactivated", "role.assigned_by_hand"):
        event(org, action, TODAY)
    event(org, "group.updated", TODAY - timedelta(days=1), hour=0)
    event(org, "role.revoked", TODAY - timedelta(days=29), hour=0)
    event(org, "user.deleted", TODAY - timedelta(days=30), hour=23)  # before the window
    event(org, "token.created", TODAY)  # not a provisioning event
    event(other_org, "user.created", TODAY)

    days = daily_counts(org, today=TODAY)

    assert len(days) == DAYS
    assert (days[0].day, days[-1].day) == (TODAY - timedelta(days=29), TODAY)
    assert {day.day: day.counts for day in days if day.counts} == {
        TODAY - timedelta(days=29): {"revoked": 1},
        TODAY - timedelta(days=1): {"membership": 1},
        TODAY: {"created": 2, "updated": 1, "granted": 1},
    }


def test_the_chart_draws_one_bar_per_kind_and_day_scaled_to_the_busiest_day():
    days = [DayCounts(TODAY - timedelta(days=DAYS - 1 - n)) for n in range(DAYS)]
    days[-1].counts = {"created": 3, "deleted": 1}
    days[-2].counts = {"membership": 2}

    drawn = chart(days)

    assert drawn.max_total == 4
    assert [bar.title for bar in drawn.bars] == [
        "2025-03-30: 2 membership changes",
        "2025-03-31: 3 created",
        "2025-03-31: 1 deleted",
    ]
    created, deleted = drawn.bars[1], drawn.bars[2]
    assert created.height == 135.0 and deleted.height == 45.0  # 180 units for 4 events
    assert deleted.y + deleted.height == created.y  # stacked


def test_an_empty_chart_has_no_bars():
    assert chart([DayCounts(TODAY)]).bars == []


def test_activity_counts_users_groups_tokens_and_failures(
    org, other_org, django_assert_num_queries
):
    ScimUserFactory(organization=org)
    ScimUserFactory(organization=org, active=False)
    ScimUserFactory(organization=other_org)
    role = make_role(org, "Engineer")
    ScimGroupFactory(organization=org, role=role)
    ScimGroupFactory(organization=org)
    issue_token(org, label="quiet")
    failing, _ = issue_token(org, label="failing")
    for status in (400, 404):
        ScimRequestFailure.objects.create(
            organization=org, token=failing, method="GET", path="/scim/v2/Users", status=status
        )

    with django_assert_num_queries(6):
        report = activity(org)

    assert (report.users, report.active_users, report.groups, report.mapped_groups) == (2, 1, 2, 1)
    assert [
        (row.token.label, row.last_failure and row.last_failure.status) for row in report.tokens
    ] == [
        ("failing", 404),
        ("quiet", None),
    ]
    assert [failure.status for failure in report.failures] == [404, 400]


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(AccountFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_page_shows_the_chart_tokens_and_failures(superuser_client: Client, org):
    today = localdate()
    event(org, "user.created", today)
    event(org, "user.deactivated", today)
    event(org, "role.granted", today - timedelta(days=3))
    token, _ = issue_token(org, label="okta")
    revoke_token(token)
    ScimRequestFailure.objects.create(
        organization=org,
        token=token,
        method="PATCH",
        path="/scim/v2/Groups/g1",
        status=400,
        scim_type="invalidValue",
        detail="A member is not a user or group of this organization.",
    )

    page = superuser_client.get(activity_url(org))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'role="img"' in html and '<title id="activity-chart-title">' in html
    assert html.count('<rect class="bar"') == 3
    assert "revoked" in html and "invalidValue" in html
    assert "A member is not a user or group of this organization." in html


def test_the_chart_coordinates_ignore_the_locale(superuser_client: Client, org):
    event(org, "user.created", localdate())
    with translation.override("de"):
        html = superuser_client.get(activity_url(org), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    (rect,) = re.findall(r'<rect class="bar"[^>]*>', html)
    assert "," not in rect


def test_the_page_is_linked_from_the_organization_list_and_page(superuser_client: Client, org):
    listing = superuser_client.get("/admin/axon_scim/organization/").content.decode()
    change = superuser_client.get(
        f"/admin/axon_scim/organization/{org.pk}/change/"
    ).content.decode()
    assert f'href="{activity_url(org)}"' in listing
    assert f'href="{activity_url(org)}"' in change
    assert "Object permissions" in change


def test_the_page_needs_the_view_permission_and_an_organization(org, superuser_client: Client):
    staff = Client()
    staff.force_login(AccountFactory(username="staff", is_staff=True))
    assert staff.get(activity_url(org)).status_code == 403
    assert superuser_client.get("/admin/axon_scim/organization/999999/activity/").status_code == 404
    assert Client().get(activity_url(org)).status_code == 302  # to the admin's login


def test_the_day_table_lists_every_day(superuser_client: Client, org):
    event(org, "user.created", localdate())
    html = superuser_client.get(activity_url(org)).content.decode()
    table = html[html.index('<table id="activity-days">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == DAYS + 1
