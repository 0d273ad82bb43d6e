"""The statement timeout kept on a persistent connection between SCIM requests (issue 12).

Set outside a transaction, the timeout stays on the connection after a SCIM
request, so the next SCIM request pays no round trip for it; any other
statement on that connection resets it first. These tests run outside
pytest-django's per-test transaction, as a production request does.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from axon_scim import timeouts
from axon_scim.views import UserResourceView

from .conftest import ScimClient, requires_postgresql


def show_statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


def server_side_timeout() -> str:
    """The setting as it is, read past Django's execute wrappers (which would reset it)."""
    with connection.connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """What each request saw while rendering, and the timeout statements sent."""
    found: dict[str, list[str]] = {"seen": [], "sent": []}
    render_page = UserResourceView.render_page
    execute = timeouts._execute

    def spy(self: UserResourceView, *args: Any) -> Any:
        found["seen"].append(server_side_timeout())
        return render_page(self, *args)

    def sent(db: Any, sql: str, params: Any = None) -> None:
        found["sent"].append(sql.split("(")[0].split()[-1] if "set_config" in sql else sql)
        execute(db, sql, params)

    monkeypatch.setattr(UserResourceView, "render_page", spy)
    monkeypatch.setattr(timeouts, "_execute", sent)
    return found


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_consecutive_scim_requests_set_the_timeout_once(scim: ScimClient, spied: Any) -> None:
    default = show_statement_timeout()
    for _ in range(3):
        assert scim.get("Users").status_code == 200
    assert spied["seen"] == ["10s"] * 3
    assert spied["sent"] == ["set_config"]
    assert server_side_timeout() == "10s"  # kept between requests ...
    assert show_statement_timeout() == default  # ... and reset before any other statement
    assert spied["sent"] == ["set_config", "RESET statement_timeout"]
    assert scim.get("Users").status_code == 200
    assert spied["seen"][-1] == "10s"


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_reset_undone_by_a_rollback_is_made_again(scim: ScimClient, spied: Any) -> None:
    default = show_statement_timeout()
    assert scim.get("Users").status_code == 200
    with pytest.raises(RuntimeError), transaction.atomic():
        assert show_statement_timeout() == default
        raise RuntimeError("roll back")
    assert server_side_timeout() == "10s"  # the rollback undid the reset
    assert show_statement_timeout() == default


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_changed_or_disabled_timeout_applies_at_once(
    scim: ScimClient, spied: Any, settings: Any
) -> None:
    default = show_statement_timeout()
    assert scim.get("Users").status_code == 200
    settings.AXON_SCIM = {"STATEMENT_TIMEOUT": 2.5}
    assert scim.get("Users").status_code == 200
    settings.AXON_SCIM = {"STATEMENT_TIMEOUT": None}
    assert scim.get("Users").status_code == 200
    assert spied["seen"] == ["10s", "2500ms", default]


@requires_postgresql
@pytest.mark.django_db
def test_inside_a_transaction_the_timeout_is_reset_after_each_request(
    scim: ScimClient, spied: Any
) -> None:
    """ATOMIC_REQUESTS, or a test transaction: a rollback could undo a kept setting."""
    default = show_statement_timeout()
    assert scim.get("Users").status_code == 200
    assert scim.get("Users").status_code == 200
    assert spied["sent"] == ["set_config", "RESET statement_timeout"] * 2
    assert server_side_timeout() == default
