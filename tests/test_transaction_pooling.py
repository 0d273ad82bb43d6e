"""``TRANSACTION_POOLING``: no session-level SET, which PgBouncer in transaction mode forbids.

A session setting lands on whichever server connection the pooler lent for
that statement, reaches the next client's transactions there, and misses the
request's next statements. With the setting, neither the statement timeout
nor Bulk's asynchronous commits are set on the session (docs/scaling.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from axon_scim.protocol import constants as c
from axon_scim.timeouts import reset_statement_timeout, set_statement_timeout

from .conftest import ScimClient, requires_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


def bulk_creations(scim: ScimClient) -> list[str]:
    """Send a Bulk of two creations; the SQL it ran."""
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": name,
            "data": {"schemas": [c.USER_SCHEMA], "userName": f"{name}@example.com"},
        }
        for name in ("one", "two")
    ]
    with CaptureQueriesContext(connection) as queries:
        response = scim.post("Bulk", {"schemas": [c.BULK_REQUEST], "Operations": operations})
    assert response.status_code == 200, response.content
    assert [op["status"] for op in response.json()["Operations"]] == ["201", "201"]
    return [query["sql"] for query in queries]


@requires_postgresql
@pytest.mark.parametrize("pooled", [False, True])
def test_no_session_setting_behind_a_transaction_pooler(
    pooled: bool, settings: Any, scim: ScimClient
) -> None:
    settings.AXON_SCIM = {"TRANSACTION_POOLING": pooled}

    timed = set_statement_timeout(10)
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (timeout,) = cursor.fetchone()
    reset_statement_timeout(timed)
    session_sets = [sql for sql in bulk_creations(scim) if "synchronous_commit TO off" in sql]

    assert (timed, timeout) == (([], "0") if pooled else (["default"], "10s"))
    assert len(session_sets) == (0 if pooled else 1)
