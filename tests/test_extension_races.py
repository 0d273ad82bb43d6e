"""An immutable custom attribute is set once, whatever the interleaving (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from axon_scim.extension_models import ScimExtensionValue

from .conftest import ScimClient, patch_body, requires_postgresql
from .live import LiveScim, live_scim_fixture  # noqa: F401
from .test_concurrent_guarantees import ROUNDS, race

pytestmark = [pytest.mark.live]

URN = "urn:example:params:scim:schemas:extension:races:2.0:User"
DECLARATION = {
    "urn": URN,
    "resourceType": "User",
    "attributes": [{"name": "badge", "mutability": "immutable"}, {"name": "note"}],
}


def set_badge(user_id: str, badge: str) -> Any:
    body = patch_body({"op": "add", "value": {f"{URN}:badge": badge, f"{URN}:note": badge}})
    return lambda http: http.patch(f"Users/{user_id}", json=body)


@requires_postgresql
def test_parallel_first_writes_of_an_immutable_attribute(
    live_scim: LiveScim, settings: Any
) -> None:
    """Two PATCHes give a user without a badge different ones: one wins, the other is 400."""
    settings.AXON_SCIM = {**getattr(settings, "AXON_SCIM", {}), "SCHEMA_EXTENSIONS": [DECLARATION]}
    scim = ScimClient(live_scim.token)
    for round_number in range(ROUNDS):
        response = scim.post("Users", {"userName": f"race{round_number}@x.com"})
        assert response.status_code == 201, response.content
        user_id = response.json()["id"]
        first, second = race(live_scim, set_badge(user_id, "A"), set_badge(user_id, "B"))
        statuses = sorted([first.status_code, second.status_code])
        assert statuses == [200, 400], (first.text, second.text)
        loser = first if first.status_code == 400 else second
        assert loser.json()["scimType"] == "mutability"
        winner = (first if first.status_code == 200 else second).json()[URN]["badge"]
        rows = ScimExtensionValue.objects.filter(user_id=user_id).order_by("key")
        # The loser changed nothing: not even the readWrite note it sent with the badge.
        assert [(row.key, row.text) for row in rows] == [
            (f"{URN}:badge", winner),
            (f"{URN}:note", winner),
        ]
