"""Bounded work per request, over HTTP: cost limits, collapsed member changes, statement timeouts.

Going over a limit is 400 ``tooMany`` naming it and changes nothing; the limits
come from the ``AXON_SCIM`` settings. On PostgreSQL every SCIM request runs
under ``statement_timeout``; a statement past it answers 503 with
``Retry-After`` and rolls the request back. No test here times anything: the
timings are the benchmark's (bench/limits.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from axon_scim.checks import check_connection_health
from axon_scim.models import AuditEvent, ScimGroup, ScimMembership, ScimUser
from axon_scim.protocol import constants as c
from axon_scim.views import UserResourceView

from .conftest import ScimClient, patch_body, provision, requires_postgresql
from .factories import AccountFactory, ScimGroupFactory, ScimUserFactory
from .test_errors import assert_error


def snapshot() -> tuple[Any, ...]:
    """Everything a refused request must leave as it was."""
    return (
        sorted(ScimUser.objects.values_list("pk", "version", "active")),
        sorted(ScimGroup.objects.values_list("pk", "version", "display_name")),
        sorted(ScimMembership.objects.values_list("group_id", "user_id")),
        AuditEvent.objects.count(),
    )


def members(users: list[ScimUser]) -> list[dict[str, str]]:
    return [{"value": str(user.pk)} for user in users]


@pytest.fixture
def people(org: Any) -> list[ScimUser]:
    return [ScimUserFactory(organization=org, account=AccountFactory()) for _ in range(6)]


# --- PATCH cost -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_patch_over_the_cost_is_400_too_many_and_changes_nothing(
    scim: ScimClient, org: Any, people: list[ScimUser], settings: Any
) -> None:
    settings.AXON_SCIM = {"MAX_PATCH_COST": 5}
    group = ScimGroupFactory(organization=org)
    before = snapshot()
    over = patch_body(
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": members(people[:5])},
    )
    detail = assert_error(scim.patch(f"Groups/{group.pk}", over), 400, "tooMany")["detail"]
    assert "passes 5 at Operations[1]" in detail
    assert snapshot() == before
    at_the_limit = patch_body({"op": "add", "path": "members", "value": members(people[:5])})
    assert scim.patch(f"Groups/{group.pk}", at_the_limit).status_code == 200


@pytest.mark.django_db
def test_value_filters_count_their_terms(scim: ScimClient, settings: Any) -> None:
    settings.AXON_SCIM = {"MAX_PATCH_COST": 6}
    user_id = provision(scim, "bjensen@example.com", emails=[{"value": "b@x", "type": "work"}])
    three_terms = 'emails[type eq "home" or type eq "other" or value eq "z@x"]'
    removal = {"op": "remove", "path": three_terms}
    assert scim.patch(f"Users/{user_id}", patch_body(removal, removal)).status_code == 200
    response = scim.patch(f"Users/{user_id}", patch_body(removal, removal, removal))
    assert "Operations[2]" in assert_error(response, 400, "tooMany")["detail"]


@pytest.mark.django_db
def test_repeated_member_operations_cost_what_one_does(
    scim: ScimClient, org: Any, people: list[ScimUser]
) -> None:
    """1,000 operations adding the same members collapse into one set operation (finding 4)."""
    once, repeated = ScimGroupFactory(organization=org), ScimGroupFactory(organization=org)
    add = {"op": "add", "path": "members", "value": members(people[:2])}
    query = "?excludedAttributes=members"
    scim.get("ServiceProviderConfig")  # the token's first use writes its last_used
    assert scim.get(f"Groups/{once.pk}{query}").status_code == 200
    with CaptureQueriesContext(connection) as single:
        assert scim.patch(f"Groups/{once.pk}{query}", patch_body(add)).status_code == 200
    with CaptureQueriesContext(connection) as thousand:
        response = scim.patch(f"Groups/{repeated.pk}{query}", patch_body(*[add] * 1000))
    assert response.status_code == 200
    assert len(thousand) == len(single)
    assert set(repeated.memberships.values_list("user_id", flat=True)) == {
        people[0].pk,
        people[1].pk,
    }
    event = AuditEvent.objects.filter(resource_id=str(repeated.pk)).latest("sequence")
    assert event.after["membersAddedCount"] == 2


@pytest.mark.django_db
def test_the_patches_of_finding_4_are_refused_at_once(scim: ScimClient, org: Any) -> None:
    """Issue 7, finding 4: both ran past gunicorn's 30 s; now each is 400 tooMany, unparsed."""
    crowd = [ScimUserFactory(organization=org) for _ in range(80)]
    group = ScimGroupFactory(organization=org)
    user_id = provision(scim, "bjensen@example.com", emails=[{"value": "b@x"}])
    before = snapshot()
    adds = [{"op": "add", "path": "members", "value": members(crowd)}] * 1000
    assert_error(scim.patch(f"Groups/{group.pk}", patch_body(*adds)), 400, "tooMany")
    three_kb = " or ".join(f'value eq "nomatch{i:04d}@example.com"' for i in range(78))
    removals = [{"op": "remove", "path": f"emails[{three_kb}]"}] * 1000
    assert_error(scim.patch(f"Users/{user_id}", patch_body(*removals)), 400, "tooMany")
    assert snapshot() == before


@pytest.mark.django_db
def test_with_the_cost_raised_the_80_member_patch_collapses(
    scim: ScimClient, org: Any, settings: Any
) -> None:
    settings.AXON_SCIM = {"MAX_PATCH_COST": 80_000}
    crowd = [ScimUserFactory(organization=org) for _ in range(80)]
    once, repeated = ScimGroupFactory(organization=org), ScimGroupFactory(organization=org)
    add = {"op": "add", "path": "members", "value": members(crowd)}
    assert scim.get(f"Groups/{once.pk}").status_code == 200  # the token's first use
    with CaptureQueriesContext(connection) as single:
        assert scim.patch(f"Groups/{once.pk}", patch_body(add)).status_code == 200
    with CaptureQueriesContext(connection) as thousand:
        assert scim.patch(f"Groups/{repeated.pk}", patch_body(*[add] * 1000)).status_code == 200
    assert len(thousand) == len(single)
    assert repeated.memberships.count() == 80


@pytest.mark.django_db
def test_an_unknown_member_is_refused_even_when_a_later_operation_drops_it(
    scim: ScimClient, org: Any, people: list[ScimUser]
) -> None:
    group = ScimGroupFactory(organization=org)
    stranger = {"value": "0b5a3f7e-7a52-4d40-9d0e-5b0f1f0a0c11"}
    before = snapshot()
    response = scim.patch(
        f"Groups/{group.pk}",
        patch_body(
            {"op": "add", "path": "members", "value": [*members(people[:1]), stranger]},
            {"op": "remove", "path": "members", "value": [stranger]},
        ),
    )
    assert stranger["value"] in assert_error(response, 400, "invalidValue")["detail"]
    assert snapshot() == before


@pytest.mark.django_db
def test_a_patch_that_grows_emails_past_the_limit_fails_even_if_it_shrinks_them_later(
    scim: ScimClient, settings: Any
) -> None:
    settings.AXON_SCIM = {"MAX_VALUES_PER_ATTRIBUTE": 3}
    user_id = provision(scim, "bjensen@example.com")
    emails = [{"value": f"{n}@x.com"} for n in range(4)]
    response = scim.patch(
        f"Users/{user_id}",
        patch_body(
            {"op": "add", "path": "emails", "value": emails},
            {"op": "remove", "path": 'emails[value eq "0@x.com"]'},
        ),
    )
    detail = assert_error(response, 400, "invalidValue")["detail"]
    assert '"emails" has 4 values; at most 3 are kept.' in detail


# --- member lists of POST and PUT -----------------------------------------------------------


@pytest.mark.django_db
def test_a_group_write_listing_too_many_members_is_400_too_many(
    scim: ScimClient, org: Any, people: list[ScimUser], settings: Any
) -> None:
    settings.AXON_SCIM = {"MAX_MEMBERS_PER_WRITE": 3}
    group = ScimGroupFactory(organization=org, display_name="Ops")
    before = snapshot()
    body = {"schemas": [c.GROUP_SCHEMA], "displayName": "Ops", "members": members(people[:4])}
    detail = assert_error(scim.post("Groups", {**body, "displayName": "New"}), 400, "tooMany")
    assert "4 members" in detail["detail"] and "at most 3" in detail["detail"]
    assert_error(scim.put(f"Groups/{group.pk}", body), 400, "tooMany")
    assert snapshot() == before
    body["members"] = members(people[:3])
    assert scim.put(f"Groups/{group.pk}", body).status_code == 200


# --- filters --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_filter_with_too_many_terms_is_400_too_many(scim: ScimClient, settings: Any) -> None:
    settings.AXON_SCIM = {"MAX_FILTER_TERMS": 3}
    ok = 'userName eq "a" or userName eq "b" or title pr'
    assert scim.get("Users", {"filter": ok}).status_code == 200
    over = ok + ' or displayName eq "c"'
    detail = assert_error(scim.get("Users", {"filter": over}), 400, "tooMany")["detail"]
    assert "4 attribute comparisons" in detail and "at most 3" in detail
    search = {"schemas": [c.SEARCH_REQUEST], "filter": over}
    assert_error(scim.post("Users/.search", search), 400, "tooMany")
    assert_error(scim.post(".search", search), 400, "tooMany")
    assert_error(scim.get("Groups", {"filter": over}), 400, "tooMany")


@pytest.mark.django_db
def test_the_87_negated_value_filters_of_finding_4_are_400_too_many(scim: ScimClient) -> None:
    text = " and ".join(f'not (emails[value eq "z{i}@x.com"])' for i in range(87))
    detail = assert_error(scim.get("Users", {"filter": text}), 400, "tooMany")["detail"]
    assert "multi-valued attributes 87 times" in detail
    assert "at most 10" in detail


@pytest.mark.django_db
def test_subqueries_follow_their_setting(scim: ScimClient, settings: Any) -> None:
    settings.AXON_SCIM = {"MAX_FILTER_SUBQUERIES": 1}
    assert scim.get("Users", {"filter": 'emails[type eq "work" and value pr]'}).status_code == 200
    response = scim.get("Users", {"filter": 'emails pr and groups.value eq "x"'})
    assert_error(response, 400, "tooMany")


# --- settings are checked -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"MAX_PATCH_COST": 0}, ["axon_scim.E006"]),
        ({"MAX_FILTER_TERMS": "5"}, ["axon_scim.E006"]),
        ({"MAX_FILTER_SUBQUERIES": -1}, ["axon_scim.E006"]),
        ({"MAX_MEMBERS_PER_WRITE": True}, ["axon_scim.E006"]),
        ({"RETRY_AFTER": 0}, ["axon_scim.E006"]),
        ({"STATEMENT_TIMEOUT": "10"}, ["axon_scim.E010"]),
        ({"STATEMENT_TIMEOUT": 0}, ["axon_scim.E010"]),
        ({"STATEMENT_TIMEOUT": None}, []),
        ({"STATEMENT_TIMEOUT": 0.5}, []),
    ],
)
def test_limit_settings_are_checked(
    settings: Any, value: dict[str, Any], expected: list[str]
) -> None:
    settings.AXON_SCIM = value
    found = [m.id for m in checks.run_checks() if (m.id or "").startswith("axon_scim.")]
    assert found == expected


def test_kept_connections_without_health_checks_are_warned_about(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = django_settings.DATABASES["default"]
    monkeypatch.setitem(database, "CONN_MAX_AGE", 60)
    monkeypatch.setitem(database, "CONN_HEALTH_CHECKS", False)
    assert [w.id for w in check_connection_health()] == ["axon_scim.W002"]
    monkeypatch.setitem(database, "CONN_HEALTH_CHECKS", True)
    assert check_connection_health() == []


# --- statement_timeout (PostgreSQL) ---------------------------------------------------------


def show_statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


@requires_postgresql
@pytest.mark.django_db
def test_every_scim_request_runs_under_the_statement_timeout(
    scim: ScimClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    render_page = UserResourceView.render_page

    def spy(self: UserResourceView, *args: Any) -> Any:
        seen.append(show_statement_timeout())
        return render_page(self, *args)

    monkeypatch.setattr(UserResourceView, "render_page", spy)
    default = show_statement_timeout()
    assert scim.get("Users").status_code == 200
    settings.AXON_SCIM = {"STATEMENT_TIMEOUT": 2.5}
    assert scim.get("Users").status_code == 200
    settings.AXON_SCIM = {"STATEMENT_TIMEOUT": None}
    assert scim.get("Users").status_code == 200
    assert seen == ["10s", "2500ms", default]
    assert show_statement_timeout() == default  # reset after each request
