"""The access review: every SCIM user, each role, the groups granting it and since when."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.timezone import now

from axon_scim import services
from axon_scim.access_review import (
    CSV_HEADER,
    GrantingGroup,
    ReviewRow,
    review_rows,
    rows_as_dicts,
    write_csv,
)
from axon_scim.models import Organization, Role, RoleAssignment, ScimGroup, ScimUser
from axon_scim.protocol.constants import GROUP_SCHEMA, PATCH_OP

from .conftest import ScimClient, provision
from .factories import AccountFactory, ScimGroupFactory, ScimUserFactory, make_role

pytestmark = pytest.mark.django_db

ACTOR = services.Actor(label="tests")


def provision_user(scim: ScimClient, user_name: str, **extra: Any) -> ScimUser:
    """A user created through SCIM, with its portal account."""
    return ScimUser.objects.select_related("account").get(pk=provision(scim, user_name, **extra))


def make_group(scim: ScimClient, name: str, *members: ScimUser) -> ScimGroup:
    body = {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": str(member.pk)} for member in members],
    }
    response = scim.post("Groups", body)
    assert response.status_code == 201, response.content
    return ScimGroup.objects.get(pk=response.json()["id"])


def since(account: Any, role: Role) -> str:
    """The ISO time of the earliest assignment of ``role`` to ``account``."""
    first = RoleAssignment.objects.filter(account=account, role=role).order_by("created").first()
    assert first is not None
    return first.created.isoformat()


def test_rows_list_every_user_each_role_and_the_groups_granting_it(
    scim: ScimClient, org: Organization, other_org: Organization
) -> None:
    editor, viewer = (
        make_role(org, "Editor", "configure_sso"),
        make_role(org, "Viewer", "configure_sso"),
    )
    alice = provision_user(scim, "alice@example.com", displayName="Alice")
    bob = provision_user(scim, "bob@example.com")
    carol = provision_user(scim, "carol@example.com")
    dave = provision_user(scim, "dave@example.com")
    engineering = make_group(scim, "Engineering", alice, bob, dave)
    admins = make_group(scim, "Admins", alice)
    make_group(scim, "Unmapped", carol)
    services.set_group_role(org, ACTOR, engineering.pk, editor.pk)
    services.set_group_role(org, ACTOR, admins.pk, editor.pk)
    services.grant_role(org, ACTOR, bob.account, viewer)
    services.grant_role(org, ACTOR, dave.account, viewer)
    # Deactivation takes the SCIM-granted role away; the hand grant stays.
    response = scim.patch(
        f"Users/{dave.pk}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert response.status_code == 200, response.content
    # Another organization's users and roles never show.
    foreign = ScimUserFactory(organization=other_org, account=AccountFactory())
    services.grant_role(
        other_org, ACTOR, foreign.account, make_role(other_org, "Editor", "configure_sso")
    )

    def user(scim_user: ScimUser, active: bool = True) -> dict[str, Any]:
        return {
            "user_id": str(scim_user.pk),
            "user_name": scim_user.user_name,
            "display_name": scim_user.display_name,
            "active": active,
            "account": scim_user.account.get_username(),
        }

    assert rows_as_dicts(review_rows(org)) == [
        {
            **user(alice),
            "role_id": editor.pk,
            "role": "Editor",
            "groups": [
                {"id": str(admins.pk), "display_name": "Admins"},
                {"id": str(engineering.pk), "display_name": "Engineering"},
            ],
            "by_hand": False,
            "since": since(alice.account, editor),
        },
        {
            **user(bob),
            "role_id": editor.pk,
            "role": "Editor",
            "groups": [{"id": str(engineering.pk), "display_name": "Engineering"}],
            "by_hand": False,
            "since": since(bob.account, editor),
        },
        {
            **user(bob),
            "role_id": viewer.pk,
            "role": "Viewer",
            "groups": [],
            "by_hand": True,
            "since": since(bob.account, viewer),
        },
        {
            **user(carol),
            "role_id": None,
            "role": None,
            "groups": [],
            "by_hand": False,
            "since": None,
        },
        {
            **user(dave, active=False),
            "role_id": viewer.pk,
            "role": "Viewer",
            "groups": [],
            "by_hand": True,
            "since": since(dave.account, viewer),
        },
    ]


def test_a_role_held_by_hand_and_through_a_group_is_one_row_since_the_earliest(
    org: Organization,
) -> None:
    role = make_role(org, "Editor", "configure_sso")
    account = AccountFactory()
    user = ScimUserFactory(organization=org, account=account, user_name="eve@example.com")
    group = ScimGroupFactory(organization=org, display_name="Ops", role=role)
    earliest = now() - timedelta(days=30)
    RoleAssignment.objects.create(organization=org, account=account, role=role, group=group)
    RoleAssignment.objects.create(organization=org, account=account, role=role, created=earliest)

    [row] = review_rows(org)

    assert row == ReviewRow(
        user_id=str(user.pk),
        user_name="eve@example.com",
        display_name=user.display_name,
        active=True,
        account=account.get_username(),
        role_id=role.pk,
        role="Editor",
        groups=(GrantingGroup(id=str(group.pk), display_name="Ops"),),
        by_hand=True,
        since=earliest,
    )
    assert row.granted_by == ["Ops", "by hand"]


def test_a_user_without_an_account_appears_once_without_role(org: Organization) -> None:
    user = ScimUserFactory(organization=org, account=None)

    assert rows_as_dicts(review_rows(org)) == [
        {
            "user_id": str(user.pk),
            "user_name": user.user_name,
            "display_name": user.display_name,
            "active": True,
            "account": None,
            "role_id": None,
            "role": None,
            "groups": [],
            "by_hand": False,
            "since": None,
        }
    ]


def test_the_report_costs_two_queries_whatever_the_size(
    org: Organization, django_assert_max_num_queries: Any
) -> None:
    roles = [make_role(org, f"Role {n}", "configure_sso") for n in range(3)]
    groups = [
        ScimGroupFactory(organization=org, display_name=f"G{n}", role=roles[n]) for n in range(3)
    ]
    for n in range(40):
        account = AccountFactory()
        ScimUserFactory(organization=org, account=account, active=n % 5 != 0)
        for k in range(n % 4):
            RoleAssignment.objects.create(
                organization=org, account=account, role=roles[k], group=groups[k]
            )
        if n % 3 == 0:
            RoleAssignment.objects.create(organization=org, account=account, role=roles[2])

    with django_assert_max_num_queries(2):
        rows = review_rows(org)

    assert len({row.user_id for row in rows}) == 40
    assert sum(1 for row in rows if row.role is None) == sum(
        1 for n in range(40) if n % 4 == 0 and n % 3 != 0
    )


def review_fixture(org: Organization) -> tuple[ScimUser, ScimUser, Role, list[ScimGroup]]:
    """One user holding a role through two groups and by hand, one holding nothing."""
    role = make_role(org, "Editor", "configure_sso")
    account = AccountFactory(username="acme:zoe")
    zoe = ScimUserFactory(
        organization=org, account=account, user_name="zoe@example.com", display_name="Zoe"
    )
    # IdP-controlled text that a spreadsheet would run as a formula.
    mallory = ScimUserFactory(
        organization=org, account=None, user_name="mallory@example.com", display_name="=1+2"
    )
    groups = [
        ScimGroupFactory(organization=org, display_name=name, role=role)
        for name in ("Alpha", "Beta")
    ]
    for group in groups:
        RoleAssignment.objects.create(organization=org, account=account, role=role, group=group)
    RoleAssignment.objects.create(organization=org, account=account, role=role)
    return zoe, mallory, role, groups


def test_csv_has_a_header_and_one_line_per_row(org: Organization) -> None:
    zoe, mallory, role, groups = review_fixture(org)
    rows = review_rows(org)
    stream = io.StringIO()

    write_csv(rows, stream)

    lines = list(csv.reader(io.StringIO(stream.getvalue())))
    assert lines == [
        CSV_HEADER,
        [
            "mallory@example.com",
            str(mallory.pk),
            "'=1+2",
            "true",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "zoe@example.com",
            str(zoe.pk),
            "Zoe",
            "true",
            "acme:zoe",
            "Editor",
            str(role.pk),
            "Alpha; Beta; by hand",
            f"{groups[0].pk}; {groups[1].pk}",
            rows[1].since.isoformat() if rows[1].since else "missing",
        ],
    ]


def run(*args: str) -> str:
    out = StringIO()
    call_command("scim_access_review", *args, stdout=out)
    return out.getvalue()


def test_command_prints_a_table_by_default(org: Organization) -> None:
    review_fixture(org)

    lines = run("acme").splitlines()

    assert lines[0].split() == ["userName", "active", "role", "granted", "by", "since"]
    assert lines[1].split() == ["mallory@example.com", "yes", "-", "-", "-"]
    assert lines[2].startswith("zoe@example.com")
    assert "Editor" in lines[2] and "Alpha, Beta, by hand" in lines[2]
    assert len(lines) == 3
    # Columns line up: every value of a column starts at the header's offset.
    assert lines[2].index("Editor") == lines[0].index("role")


def test_command_prints_csv_and_json_as_the_api_does(org: Organization) -> None:
    review_fixture(org)
    rows = review_rows(org)
    expected_csv = io.StringIO()
    write_csv(rows, expected_csv)

    assert run("acme", "--csv") == expected_csv.getvalue()
    assert json.loads(run("acme", "--json")) == rows_as_dicts(rows)


def test_command_refuses_an_unknown_organization(org: Organization) -> None:
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        run("nope")
