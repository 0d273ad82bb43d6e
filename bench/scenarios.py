"""Scenarios S1..S9 as request plans for each implementation (axon-scim, django-scim2, floor).

A scenario builds, for one ``Target``, the phases of requests the load
generator replays and a check that one sample response is correct; a target
whose check fails (or that answers errors) is reported as not supporting
the scenario, with the reason.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bench import custom_attr, data
from bench.config import ORG_SLUGS, Sizes

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SLUG = ORG_SLUGS[0]
Request = list[Any]  # [method, path, body]


@dataclass
class Target:
    """One implementation as the load generator sees it."""

    name: str  # "ours", "django_scim2", "floor"
    port: int
    prefix: str  # "/scim/v2" or "/floor"
    token: str | None
    org_id: int
    user_id: Callable[[int], str]
    group_id: Callable[[int], str]
    big_group_id: str
    query: str = ""  # appended to every path (the floor's ?org=)
    slug: str = SLUG  # the organization's, whose users' data the requests name

    def path(self, path: str, params: str = "") -> str:
        params = "&".join(p for p in (params, self.query) if p)
        return f"{self.prefix}{path}" + (f"?{params}" if params else "")

    def headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/scim+json",
            "Content-Type": "application/scim+json",
            "Connection": "close",
            "User-Agent": "axon-scim-bench",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


@dataclass
class Scenario:
    key: str
    title: str
    build: Callable[[Target, Sizes], list[list[Request]]]
    check: Callable[[int, Any, Sizes], str | None] | None  # None when fine, else the reason
    concurrency: int = 4
    rss: bool = False
    notes: dict[str, str] = field(default_factory=dict)
    org: str = SLUG  # the organization whose data and token it uses
    # Implementations left out without a try, and why.
    unsupported: dict[str, str] = field(default_factory=dict)
    # Consecutive scenarios of one group are driven in interleaved rounds (compared).
    group: str = ""


def _mangle(text: str, rng: random.Random) -> str:
    """The same string in a random mix of cases (userName is caseExact false)."""
    return "".join(ch.upper() if rng.random() < 0.5 else ch for ch in text)


def _list_of(expected: int) -> Callable[[int, Any, Sizes], str | None]:
    def check(status: int, body: Any, size: Sizes) -> str | None:
        if status != 200:
            return f"answers {status}"
        found = len(body.get("Resources", []))
        if found != expected or (expected == 1 and body.get("totalResults") != 1):
            return (
                f"returns {found} resources (totalResults {body.get('totalResults')}), "
                f"expected {expected}"
            )
        return None

    return check


def _filter(target: Target, expression: str) -> Request:
    return ["GET", target.path("/Users", "filter=" + quote(expression)), None]


def s1(target: Target, size: Sizes) -> list[list[Request]]:
    rng = random.Random(1)
    names = [data.user_name(SLUG, rng.randrange(size.users)) for _ in range(size.requests)]
    return [[_filter(target, f'userName eq "{_mangle(name, rng)}"') for name in names]]


def s2(target: Target, size: Sizes) -> list[list[Request]]:
    rng = random.Random(2)
    emails = [data.work_email(target.slug, rng.randrange(size.users)) for _ in range(size.requests)]
    return [[_filter(target, f'emails[type eq "work"].value eq "{email}"') for email in emails]]


def s2c(target: Target, size: Sizes) -> list[list[Request]]:
    # Organization B's own attribute (``bench.custom_attr``), a value per request as S2.
    rng = random.Random(3)
    values = [custom_attr.value(rng.randrange(size.users)) for _ in range(size.requests)]
    return [[_filter(target, f'{custom_attr.KEY} eq "{value}"') for value in values]]


def s3(target: Target, size: Sizes) -> list[list[Request]]:
    path = target.path("/Users", f"startIndex={size.users // 2 + 1}&count=100")
    return [[["GET", path, None]] * size.requests]


def okta_user(name: str, k: int, run: str) -> dict[str, Any]:
    """Okta's create body (its documented example), without the password: Okta sends one
    only with password sync on, and hashing it would measure PBKDF2, not SCIM."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": f"New{k}", "familyName": "Hire"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"New{k} Hire",
        "locale": "en-US",
        "externalId": f"00u{run}{k:05d}",
        "groups": [],
        "active": True,
    }


def s4(target: Target, size: Sizes) -> list[list[Request]]:
    run = time.strftime("%H%M%S")
    path = target.path("/Users" if target.name != "floor" else "/Users/new")
    return [
        [
            ["POST", path, okta_user(f"new-{target.name[:2]}{run}-{k}@{SLUG}.example.com", k, run)]
            for k in range(size.requests)
        ]
    ]


def s5(target: Target, size: Sizes) -> list[list[Request]]:
    # Entra ID's multi-operation replace, string boolean included.
    rng = random.Random(5)
    requests = []
    for i in rng.sample(range(size.users), min(size.requests, size.users)):
        requests.append(
            [
                "PATCH",
                target.path(f"/Users/{target.user_id(i)}"),
                {
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [
                        {
                            "op": "Replace",
                            "path": "displayName",
                            "value": f"{data.given_name(i)} {data.family_name(i)}",
                        },
                        {"op": "Replace", "path": "name.givenName", "value": data.given_name(i)},
                        {"op": "Replace", "path": "name.familyName", "value": data.family_name(i)},
                        {"op": "Replace", "path": "title", "value": "Senior Engineer"},
                        {
                            "op": "Replace",
                            "path": 'emails[type eq "work"].value',
                            "value": data.work_email(SLUG, i),
                        },
                        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Research"},
                        {"op": "Replace", "path": "active", "value": "True"},
                    ],
                },
            ]
        )
    return [requests]


def s6(target: Target, size: Sizes) -> list[list[Request]]:
    # Group g gets the 100 members of groups g+500 .. g+509, which it does not hold,
    # then loses them again; the two phases are paired request by request.
    count = min(size.requests // 2, size.small_groups)
    adds, removes = [], []
    for g in range(count):
        start = ((g + size.small_groups // 2) % size.small_groups) * size.group_size
        members = [{"value": target.user_id((start + j) % size.users)} for j in range(100)]
        path = target.path(f"/Groups/{target.group_id(g)}")
        adds.append(
            [
                "PATCH",
                path,
                {
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [{"op": "add", "path": "members", "value": members}],
                },
            ]
        )
        removes.append(
            [
                "PATCH",
                path,
                {
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [{"op": "remove", "path": "members", "value": members}],
                },
            ]
        )
    return [adds, removes]


def s7(target: Target, size: Sizes) -> list[list[Request]]:
    path = target.path(f"/Groups/{target.big_group_id}", "excludedAttributes=members")
    return [[["GET", path, None]] * size.requests]


def check_s7(status: int, body: Any, size: Sizes) -> str | None:
    if status != 200:
        return f"answers {status}"
    if "members" in body:
        return f"ignores excludedAttributes: returns all {len(body['members']):,} members"
    return None


def s8(target: Target, size: Sizes) -> list[list[Request]]:
    return [
        [["GET", target.path(f"/Groups/{target.big_group_id}"), None]] * max(8, size.requests // 5)
    ]


def check_s8(status: int, body: Any, size: Sizes) -> str | None:
    if status != 200:
        return f"answers {status}"
    found = len(body.get("members", []))
    return None if found == size.users else f"returns {found} members, expected {size.users}"


def s9(target: Target, size: Sizes) -> list[list[Request]]:
    pages = -(-size.users // 1000)
    return [
        [
            ["GET", target.path("/Users", f"startIndex={1 + 1000 * p}&count=1000"), None]
            for p in range(pages)
        ]
    ]


SCENARIOS = [
    Scenario("S1", 'GET /Users?filter=userName eq "..." (any case)', s1, _list_of(1)),
    Scenario(
        "S2",
        'GET /Users?filter=emails[type eq "work"].value eq "..."',
        s2,
        _list_of(1),
        group="S2",
    ),
    Scenario(
        "S2b",
        'GET /Users?filter=emails[type eq "work"].value eq "..." in organization B',
        s2,
        _list_of(1),
        org=custom_attr.SLUG,
        unsupported={"django_scim2": "compared in organization A (S2)"},
        group="S2",
    ),
    Scenario(
        "S2c",
        f'GET /Users?filter=urn:...:{custom_attr.SLUG}:2.0:User:{custom_attr.NAME} eq "..."'
        " (organization B's own attribute)",
        s2c,
        _list_of(1),
        org=custom_attr.SLUG,
        unsupported={"django_scim2": "django-scim2 has no custom attributes"},
        group="S2",
    ),
    Scenario("S3", "GET /Users?startIndex=<middle>&count=100", s3, _list_of(100)),
    Scenario("S7", "GET /Groups/{big}?excludedAttributes=members", s7, check_s7),
    Scenario("S8", "GET /Groups/{big} with all members", s8, check_s8, rss=True),
    Scenario(
        "S9",
        "full sync: every user, count=1000, one client",
        s9,
        _list_of(1000),
        concurrency=1,
        rss=True,
    ),
    Scenario("S4", "POST /Users (Okta's body)", s4, None),
    Scenario("S5", "PATCH /Users/{id} (Entra's multi-op replace)", s5, None),
    Scenario("S6", "PATCH /Groups/{id}: add 100 members, then remove them", s6, None),
]
ORDER = ["S1", "S2", "S2b", "S2c", "S3", "S4", "S5", "S6", "S7", "S8", "S9"]


def parse_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
