"""Cursor walks over real HTTP: scim2-client's, and one exact while users come and go.

The second needs PostgreSQL: the live server answers each request on its own
thread and connection, so the writers really run between the walker's pages.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils.timezone import now
from scim2_models import SearchRequest

from axon_scim.models import ScimUser
from axon_scim.protocol import constants as c

from .conftest import requires_postgresql
from .live import HttpxScimClient, LiveScim, live_scim_fixture  # noqa: F401


def add_users(live_scim: LiveScim, names: list[str]) -> list[str]:
    """Users named ``names``, created a millisecond apart in that order; their ids."""
    start = now() - timedelta(hours=1)
    users = ScimUser.objects.bulk_create(
        ScimUser(
            organization=live_scim.organization,
            user_name=name,
            user_name_lower=name.lower(),
            created=start + timedelta(milliseconds=i),
        )
        for i, name in enumerate(names)
    )
    return [str(user.pk) for user in users]


def test_scim2_client_walks_by_cursor(live_scim: LiveScim) -> None:
    ids = add_users(live_scim, [f"walker{i}@example.com" for i in range(5)])
    with live_scim.http() as http:
        client = HttpxScimClient(http)
        client.discover()
        assert client.provider.config.pagination.cursor is True
        User = client.get_resource_model("User")
        request = SearchRequest(cursor="", count=2, sort_by="userName")
        pages = [client.query(User, query_parameters=request)]
        while pages[-1].next_cursor:
            request = SearchRequest(cursor=pages[-1].next_cursor, count=2, sort_by="userName")
            pages.append(client.query(User, query_parameters=request))
    assert [page.total_results for page in pages] == [5, None, None]
    assert [user.id for page in pages for user in page.resources or []] == ids


class Churn:
    """Writers that create users and delete the doomed ones until told to stop."""

    def __init__(self, live_scim: LiveScim, doomed: list[str]) -> None:
        self.live_scim = live_scim
        self.doomed = doomed
        self.stop = threading.Event()
        self.created: list[tuple[float, str]] = []  # (when, id)
        self.deleted: list[float] = []
        self.threads = [
            threading.Thread(target=self.create, daemon=True),
            threading.Thread(target=self.delete, daemon=True),
        ]

    def create(self) -> None:
        with self.live_scim.http() as http:
            for n in itertools.count():
                if self.stop.is_set():
                    return
                # Names that sort before, among and after the others'.
                name = f"{'amz'[n % 3]}-new-{n}@example.com"
                response = http.post("Users", json={"schemas": [c.USER_SCHEMA], "userName": name})
                if response.status_code == 201:
                    self.created.append((time.monotonic(), response.json()["id"]))

    def delete(self) -> None:
        with self.live_scim.http() as http:
            for pk in self.doomed:
                if self.stop.is_set():
                    return
                if http.delete(f"Users/{pk}").status_code == 204:
                    self.deleted.append(time.monotonic())

    def __enter__(self) -> Churn:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def walk(http: httpx.Client, params: dict[str, Any]) -> list[str]:
    """The ids of a cursor walk of /Users at count=7, a short pause between pages."""
    served, cursor = [], ""
    while cursor is not None:
        response = http.get("Users", params={**params, "cursor": cursor, "count": 7})
        assert response.status_code == 200, response.text
        body = response.json()
        served += [resource["id"] for resource in body["Resources"]]
        cursor = body.get("nextCursor")
        time.sleep(0.02)
    return served


@requires_postgresql
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sortBy": "userName"},
        {"sortBy": "userName", "sortOrder": "descending"},
        {"filter": 'userName co "m"', "attributes": "userName"},
    ],
    ids=["created", "userName", "userName-descending", "filtered"],
)
def test_a_walk_is_exact_while_users_come_and_go(
    live_scim: LiveScim, params: dict[str, Any]
) -> None:
    names = [f"{'amz'[i % 3]}-{kind}-{i}@example.com" for i in range(150) for kind in ("keep",)]
    doomed_names = [f"{'amz'[i % 3]}-doomed-{i}@example.com" for i in range(90)]
    # Doomed users sit between the kept ones in every order the walk can take.
    mixed = list(zip(names[:90], doomed_names, strict=True))
    order = [name for pair in mixed for name in pair] + names[90:]
    ids = dict(zip(order, add_users(live_scim, order), strict=True))
    kept = {ids[name] for name in names if "filter" not in params or "m" in name}
    doomed = [ids[name] for name in doomed_names]
    random.Random(9).shuffle(doomed)
    with live_scim.http() as http, Churn(live_scim, doomed) as churn:
        time.sleep(0.2)  # let the writers start
        started = time.monotonic()
        served = walk(http, params)
        finished = time.monotonic()
    assert len(served) == len(set(served)), "a user was served twice"
    assert kept <= set(served), f"{len(kept - set(served))} users that stayed were skipped"
    assert set(served) <= set(ids.values()) | {pk for _, pk in churn.created}
    # The walk really ran while both writers did.
    assert any(started < when < finished for when, _ in churn.created)
    assert any(started < when < finished for when in churn.deleted)
