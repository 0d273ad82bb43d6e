"""The two races of issue 7, replayed with real parallel requests on PostgreSQL, round after round.

Each round builds a fresh organization, fires the racing changes at one
moment (``tests.parallel.at_once``) and then checks the organization with
``verify_state`` and the audit replays. A round that breaks an invariant is
counted, and the test fails naming how many rounds of ``RACE_ROUNDS``
(default 12) broke and how.

- Deprovisioning: an inactive member of a mapped group gets ``PATCH
  active:true`` and ``PATCH active:false`` at once; and DELETE races ``PATCH
  active:true`` (the group mapped in every other round). Whatever order the
  database picks, the account must end as the SCIM user says (disabled for a
  deleted user), with the roles and permissions that follow, and a
  ``user.deactivated`` or ``user.reactivated`` event for each step of
  ``active``.
- Mappings: groups GA and GB, both mapped to one role, share 10 members.
  Clearing both mappings at once must revoke the role from all 10; clearing
  GA while mapping GB to another role must leave the 10 holding exactly the
  other role, with its permissions.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from axon_scim import services
from axon_scim.audit import Actor
from axon_scim.invariants import verify_state
from axon_scim.models import Organization, Role

from .audit_replay import activation_problems, mapping_problems, role_problems
from .conftest import patch_body, requires_postgresql
from .factories import make_role
from .live import LiveScim, live_scim_fixture  # noqa: F401
from .parallel import at_once

pytestmark = pytest.mark.live

ROUNDS = int(os.environ.get("RACE_ROUNDS", "12"))
ACTOR = Actor(label="race tests")
_numbers = itertools.count()


@dataclass
class Round:
    """A fresh organization of one round, a role for its mappings, and a client holding a token."""

    number: int
    organization: Organization
    role: Role
    http: httpx.Client

    def user(self, name: str) -> str:
        """A new user, made through the services (the races themselves go over HTTP)."""
        return str(services.create_user(self.organization, ACTOR, {"userName": name}).pk)

    def group(self, name: str, members: list[str]) -> str:
        doc = {"displayName": name, "members": [{"value": member} for member in members]}
        return str(services.create_group(self.organization, ACTOR, doc).pk)

    def set_active(self, user_id: str, active: bool) -> Callable[[], object]:
        body = patch_body({"op": "replace", "path": "active", "value": active})
        return lambda: outcome(self.http.patch(f"Users/{user_id}", json=body))

    def delete(self, user_id: str) -> Callable[[], object]:
        return lambda: outcome(self.http.delete(f"Users/{user_id}"))

    def map(self, group_id: str, role: Role | None) -> Callable[[], object]:
        return lambda: services.set_group_role(
            self.organization, ACTOR, group_id, role.pk if role else None
        )

    def problems(self) -> list[str]:
        """Every broken invariant of the round's organization."""
        check = verify_state(self.organization)
        found = [] if check.ok else [str(check.discrepancy)]
        return (
            found
            + activation_problems(self.organization)
            + role_problems(self.organization)
            + mapping_problems(self.organization)
        )


@pytest.fixture
def rounds(live_scim: LiveScim) -> Iterator[Callable[[], Round]]:
    """Makes the organization of each round; closes their clients at the end."""
    clients: list[httpx.Client] = []

    def new_round() -> Round:
        number = next(_numbers)
        organization = Organization.objects.create(slug=f"race-{number}", name=f"Race {number}")
        secret = services.issue_token(organization, ACTOR, label="race")[1]
        http = live_scim.http(headers={"Authorization": f"Bearer {secret}"})
        clients.append(http)
        role = make_role(organization, "Operator", "configure_sso")
        return Round(number, organization, role, http)

    yield new_round
    for http in clients:
        http.close()


def run_rounds(play: Callable[[Round], list[str]], new_round: Callable[[], Round]) -> None:
    """Play ``ROUNDS`` rounds; fail with how many broke an invariant, and the first problems."""
    broken = []
    for number in range(ROUNDS):
        problems = play(new_round())
        if problems:
            broken.append(f"round {number + 1}: " + "; ".join(problems[:3]))
    assert not broken, f"{len(broken)} of {ROUNDS} rounds broke:\n" + "\n".join(broken)


def inactive_member(game: Round, name: str, *, mapped: bool = True) -> str:
    """A deactivated user who is a member of a group, mapped to the round's role or not."""
    user_id = game.user(name)
    group_id = game.group("Ops", [user_id])
    if mapped:
        services.set_group_role(game.organization, ACTOR, group_id, game.role.pk)
    assert game.set_active(user_id, False)() == 200
    return user_id


def outcome(response: httpx.Response) -> object:
    """The status code; with the body when it is a server error, to tell what went wrong."""
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:300]}"
    return response.status_code


def statuses(results: list[Any], allowed: set[Any]) -> list[str]:
    """A problem for each result outside ``allowed`` (an exception is its own result)."""
    return [f"unexpected outcome {result!r}" for result in results if result not in allowed]


@requires_postgresql
def test_activation_and_deactivation_at_once_keep_account_and_roles(
    rounds: Callable[[], Round],
) -> None:
    def play(game: Round) -> list[str]:
        user_id = inactive_member(game, "flip@race.test")
        results = at_once([game.set_active(user_id, True), game.set_active(user_id, False)])
        return statuses(results, {200}) + game.problems()

    run_rounds(play, rounds)


@requires_postgresql
def test_delete_racing_activation_leaves_the_account_disabled(
    rounds: Callable[[], Round],
) -> None:
    def play(game: Round) -> list[str]:
        # Every other round the group is not mapped: no role to restore, only the account.
        user_id = inactive_member(game, "leaver@race.test", mapped=game.number % 2 == 0)
        results = at_once([game.delete(user_id), game.set_active(user_id, True)])
        return statuses(results[:1], {204}) + statuses(results[1:], {200, 404}) + game.problems()

    run_rounds(play, rounds)


def shared_members(game: Round) -> tuple[str, str]:
    """Groups GA and GB, both mapped to the round's role, sharing 10 members."""
    members = [game.user(f"member{n}@race.test") for n in range(10)]
    ga, gb = game.group("GA", members), game.group("GB", members)
    for group_id in (ga, gb):
        services.set_group_role(game.organization, ACTOR, group_id, game.role.pk)
    return ga, gb


@requires_postgresql
def test_clearing_two_mappings_of_one_role_at_once_revokes_it(
    rounds: Callable[[], Round],
) -> None:
    def play(game: Round) -> list[str]:
        ga, gb = shared_members(game)
        results = at_once([game.map(ga, None), game.map(gb, None)])
        return [f"{r!r}" for r in results if isinstance(r, Exception)] + game.problems()

    run_rounds(play, rounds)


@requires_postgresql
def test_clearing_one_mapping_while_remapping_the_other_keeps_the_new_role(
    rounds: Callable[[], Round],
) -> None:
    def play(game: Round) -> list[str]:
        ga, gb = shared_members(game)
        viewer = make_role(game.organization, "Viewer", "view_scimuser")
        results = at_once([game.map(ga, None), game.map(gb, viewer)])
        return [f"{r!r}" for r in results if isinstance(r, Exception)] + game.problems()

    run_rounds(play, rounds)
