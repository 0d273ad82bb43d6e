"""Rate limits: per SCIM token and per portal user, 429 with Retry-After, audited, in the admin.

The throttles' clock is stopped at 1000.0 s: with a limit per minute the
window runs from 960 to 1020, so a throttled request is told to retry after
20 seconds.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from guardian.shortcuts import assign_perm

from axon_scim.adapter import SESSION_ORGANIZATION_KEY
from axon_scim.checks import check_rate_limits
from axon_scim.models import AuditEvent, Organization, ScimToken, ScimUser
from axon_scim.protocol.constants import ERROR
from axon_scim.services import issue_token
from axon_scim.throttling import RateThrottle, ScimTokenRateThrottle, parse_rate

from .conftest import ScimClient
from .factories import AccountFactory

API = "/api/v1/scim"
START = 1000.0


class Clock:
    """The throttles' clock, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    cache.clear()  # counters of earlier tests (SQLite reuses token ids)
    stopped = Clock()
    monkeypatch.setattr(RateThrottle, "timer", staticmethod(stopped))
    return stopped


def limited(settings: Any, **limits: str) -> None:
    settings.AXON_SCIM = limits


def statuses(client: ScimClient | Client, path: str, times: int) -> list[int]:
    return [client.get(path).status_code for _ in range(times)]


def throttle_events(organization: Organization) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.for_tenant(organization)
        .filter(action__endswith=".throttled")
        .order_by("sequence")
    )


# --- SCIM: per token ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_over_its_limit_gets_a_scim_429_with_retry_after(settings, scim):
    limited(settings, RATE_LIMIT="2/min")

    assert statuses(scim, "Users", 2) == [200, 200]
    response = scim.get("Users")

    assert response.status_code == 429
    assert response["Retry-After"] == "20"
    assert response["Content-Type"] == "application/scim+json"
    assert response.json() == {
        "schemas": [ERROR],
        "status": "429",
        "detail": "Too many requests; retry after 20 seconds.",
    }


@pytest.mark.django_db
def test_writes_count_and_are_refused_alike(settings, scim):
    limited(settings, RATE_LIMIT="1/min")
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada"}

    assert scim.post("Users", body).status_code == 201
    assert scim.post("Users", {**body, "userName": "bob"}).status_code == 429
    assert list(ScimUser.objects.values_list("user_name", flat=True)) == ["ada"]


@pytest.mark.django_db
def test_the_limit_counts_each_token_on_its_own(settings, org, other_org, scim):
    limited(settings, RATE_LIMIT="1/min")
    second = ScimClient(issue_token(org, label="second")[1])
    foreign = ScimClient(issue_token(other_org, label="foreign")[1])

    assert statuses(scim, "Users", 2) == [200, 429]
    assert statuses(second, "Users", 2) == [200, 429]
    assert statuses(foreign, "Users", 2) == [200, 429]


@pytest.mark.django_db
def test_the_next_window_starts_a_new_count(settings, scim, clock):
    limited(settings, RATE_LIMIT="1/min")
    assert statuses(scim, "Users", 2) == [200, 429]

    clock.now = 1019.5
    assert scim.get("Users")["Retry-After"] == "1"  # whole seconds, rounded up
    clock.now = 1020.0
    assert statuses(scim, "Users", 2) == [200, 429]


@pytest.mark.django_db
def test_there_is_no_limit_by_default(scim):
    assert set(statuses(scim, "Users", 30)) == {200}


@pytest.mark.django_db
def test_discovery_and_refused_credentials_are_not_counted(settings, scim, anonymous_scim):
    limited(settings, RATE_LIMIT="1/min")

    assert set(statuses(anonymous_scim, "ServiceProviderConfig", 5)) == {200}
    assert set(statuses(ScimClient("axscim_wrong"), "Users", 5)) == {401}
    assert statuses(scim, "Users", 2) == [200, 429]


@pytest.mark.django_db
def test_the_portal_limit_does_not_apply_to_scim(settings, scim):
    limited(settings, PORTAL_RATE_LIMIT="1/min")

    assert set(statuses(scim, "Users", 5)) == {200}


def test_parallel_requests_are_all_counted(settings, monkeypatch):
    """``incr`` is atomic: of 40 simultaneous requests with a limit of 15, exactly 15 pass."""
    limited(settings, RATE_LIMIT="15/min")
    monkeypatch.setattr(ScimTokenRateThrottle, "record", lambda *args: None)  # no database here
    request: Any = SimpleNamespace(auth=ScimToken(pk=7))
    results: list[bool] = []
    start = threading.Barrier(40)

    def one() -> None:
        start.wait()
        results.append(ScimTokenRateThrottle().allow_request(request, None))

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == 15


# --- Audit and admin ----------------------------------------------------------------


@pytest.mark.django_db
def test_throttling_is_audited_once_per_window(settings, org, scim, token_secret, clock):
    limited(settings, RATE_LIMIT="1/min")
    token = ScimToken.objects.get(secret_hash=ScimToken.hash_secret(token_secret))

    assert statuses(scim, "Users", 5) == [200, 429, 429, 429, 429]
    clock.now += 60
    assert statuses(scim, "Users", 3) == [200, 429, 429]

    events = throttle_events(org)
    assert [(e.action, e.resource_type, e.resource_id) for e in events] == [
        ("token.throttled", "Token", str(token.pk)),
        ("token.throttled", "Token", str(token.pk)),
    ]
    assert [e.after for e in events] == [
        {"rateLimit": "1/min", "retryAfter": 20},
        {"rateLimit": "1/min", "retryAfter": 20},
    ]
    assert events[0].actor_token == token
    assert events[0].actor_type == "token"
    assert events[0].ip == "127.0.0.1"


@pytest.mark.django_db
def test_a_limit_per_second_is_audited_at_most_once_a_minute(settings, org, scim, clock):
    limited(settings, RATE_LIMIT="1/s")

    for second in range(10):
        clock.now = START + second
        assert statuses(scim, "Users", 2) == [200, 429]

    assert len(throttle_events(org)) == 1


@pytest.mark.django_db
def test_the_tokens_admin_page_shows_its_throttling(settings, admin_client, scim, token_secret):
    token = ScimToken.objects.get(secret_hash=ScimToken.hash_secret(token_secret))
    page = f"/admin/axon_scim/scimtoken/{token.pk}/change/"
    assert "never throttled" in admin_client.get(page).content.decode()

    limited(settings, RATE_LIMIT="1/min")
    statuses(scim, "Users", 3)

    content = admin_client.get(page).content.decode()
    assert "throttled in 1 window, the last at " in content
    assert (
        f'href="/admin/axon_scim/auditevent/?action=token.throttled&amp;resource_id={token.pk}"'
        in content
    )


# --- Portal: per user ---------------------------------------------------------------


def signed_in(user: Any, organization: Organization) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_ORGANIZATION_KEY] = organization.pk
    session.save()
    return client


@pytest.fixture
def admins(org: Organization) -> list[Any]:
    users = [AccountFactory(username=name) for name in ("ann", "ben")]
    for user in users:
        assign_perm("configure_sso", user, org)
    return users


@pytest.mark.django_db
def test_a_portal_user_over_the_limit_gets_a_json_429(settings, org, admins):
    limited(settings, PORTAL_RATE_LIMIT="2/min")
    ann, ben = (signed_in(user, org) for user in admins)

    assert statuses(ann, f"{API}/roles", 2) == [200, 200]
    response = ann.get(f"{API}/tokens")

    assert response.status_code == 429
    assert response["Retry-After"] == "20"
    assert response.json() == {"detail": "Too many requests; retry after 20 seconds."}
    assert statuses(ben, f"{API}/roles", 2) == [200, 200]


@pytest.mark.django_db
def test_portal_throttling_is_audited_in_the_sessions_organization(settings, org, admins):
    limited(settings, PORTAL_RATE_LIMIT="1/min")
    ann = signed_in(admins[0], org)

    assert statuses(ann, f"{API}/audit-events", 3) == [200, 429, 429]

    [event] = throttle_events(org)
    assert (event.action, event.resource_type, event.resource_id) == (
        "portal.throttled",
        "Account",
        str(admins[0].pk),
    )
    assert event.actor_user == admins[0]
    assert event.after == {"rateLimit": "1/min", "retryAfter": 20}


@pytest.mark.django_db
def test_refused_portal_requests_are_not_counted(settings, org):
    limited(settings, PORTAL_RATE_LIMIT="1/min")
    outsider = signed_in(get_user_model().objects.create_user("outsider"), org)

    assert set(statuses(outsider, f"{API}/roles", 3)) == {403}
    assert set(statuses(Client(), f"{API}/roles", 3)) == {403}


# --- Rates and their checks -----------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("600/min", (600, 60)), ("10/s", (10, 1)), ("5/hour", (5, 3600)), ("1/day", (1, 86400))],
)
def test_parse_rate(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "600", "0/min", "-1/min", "ten/min", "10/week", "\uff11/min"])
def test_parse_rate_refuses_what_is_not_a_rate(rate):
    with pytest.raises(ValueError, match="is not a rate such as '600/min'"):
        parse_rate(rate)


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"RATE_LIMIT": "600/min", "PORTAL_RATE_LIMIT": "60/min"}, []),
        ({"RATE_LIMIT": None}, []),
        ({"RATE_LIMIT": "600"}, ["axon_scim.E008"]),
        ({"PORTAL_RATE_LIMIT": 600}, ["axon_scim.E008"]),
        ({"RATE_LIMIT_CACHE": "throttles"}, ["axon_scim.E009"]),
    ],
)
def test_rate_limit_checks(settings, limits, expected):
    settings.AXON_SCIM = limits
    assert [error.id for error in check_rate_limits()] == expected


class BrokenCache:
    """A cache backend whose server is down: every call raises."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("cache server unreachable")

        return fail


@pytest.mark.django_db
def test_a_cache_that_is_down_lets_requests_through_rather_than_answer_500(
    settings, scim, monkeypatch, caplog
):
    limited(settings, RATE_LIMIT="1/min")
    monkeypatch.setattr("axon_scim.throttling.caches", {"default": BrokenCache()})

    assert statuses(scim, "Users", 3) == [200, 200, 200]
    assert "Rate-limit cache unavailable" in caplog.text
