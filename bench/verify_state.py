"""How long ``verify_scim_state`` takes on one large organization (issue 7: 100,000 users < 1 min).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/SCRATCH python -m bench.verify_state [--users N]

Migrates the database, then (once; reused while the organization exists)
bulk-creates one organization ``verify-bench`` of N users with accounts, 10%
of them deactivated and 1% with ``active`` unassigned, 50 groups of N/50
members of which half are mapped to two roles, the role assignments, managed
and guardian permissions those imply, one ``user.updated`` event per user
and N/100 deleted users with retired accounts. Then it times the check and
prints what the command would print. Use a scratch database: rows are
written directly, not through the services.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

SLUG = "verify-bench"


def seed(users: int) -> None:
    """The organization, its users, accounts and groups; then their roles and audit events."""
    from django.contrib.auth import get_user_model

    from axon_scim.models import AuditEvent, Organization, ScimGroup, ScimUser
    from tests.factories import make_role

    org = Organization.objects.create(slug=SLUG, name="Verify bench")
    roles = [make_role(org, f"Role {n}", "configure_sso") for n in range(2)]
    permission = roles[0].permissions.get()
    accounts = get_user_model().objects.bulk_create(
        [
            get_user_model()(username=f"vb:{n}", is_active=n % 10 != 0, password="!")
            for n in range(users)
        ],
        batch_size=5000,
    )
    rows = ScimUser.objects.bulk_create(
        [
            ScimUser(
                organization=org,
                account=account,
                user_name=f"user{n}@bench.test",
                user_name_lower=f"user{n}@bench.test",
                active=None if n % 100 == 1 else account.is_active,
                version=2,
            )
            for n, account in enumerate(accounts)
        ],
        batch_size=5000,
    )
    groups = ScimGroup.objects.bulk_create(
        [
            ScimGroup(
                organization=org,
                display_name=f"Group {g}",
                display_name_lower=f"group {g}",
                role=roles[g % 2] if g < 25 else None,
            )
            for g in range(50)
        ]
    )
    seed_roles(org, list(zip(rows, accounts, strict=True)), groups, permission)
    events = [
        AuditEvent(
            organization=org,
            action="user.updated",
            resource_type="User",
            resource_id=str(user.pk),
            after={"active": account.is_active},  # the last explicit value
        )
        for user, account in zip(rows, accounts, strict=True)
    ]
    seed_deleted(org, users // 100, events)
    AuditEvent.objects.bulk_create(events, batch_size=5000)


def seed_roles(org: Any, users: list[tuple[Any, Any]], groups: list[Any], permission: Any) -> None:
    """Memberships, and the assignments and permissions they imply (each account one role)."""
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import UserObjectPermission

    from axon_scim.models import ManagedPermission, Organization, RoleAssignment, ScimMembership

    memberships, assignments, holders = [], [], set()
    for n, (user, account) in enumerate(users):
        group = groups[n % len(groups)]
        memberships.append(ScimMembership(organization=org, group=group, user=user))
        if group.role_id is not None and account.is_active:
            assignments.append(
                RoleAssignment(
                    organization=org, account=account, role_id=group.role_id, group=group
                )
            )
            holders.add(account.pk)
    ScimMembership.objects.bulk_create(memberships, batch_size=5000)
    RoleAssignment.objects.bulk_create(assignments, batch_size=5000)
    ManagedPermission.objects.bulk_create(
        [ManagedPermission(organization=org, account_id=a, permission=permission) for a in holders],
        batch_size=5000,
    )
    content_type = ContentType.objects.get_for_model(Organization)
    UserObjectPermission.objects.bulk_create(
        [
            UserObjectPermission(
                user_id=a, permission=permission, content_type=content_type, object_pk=str(org.pk)
            )
            for a in holders
        ],
        batch_size=5000,
    )


def seed_deleted(org: Any, count: int, events: list[Any]) -> None:
    """``count`` deleted users: a ``user.deleted`` event and a disabled, renamed account each."""
    from django.contrib.auth import get_user_model

    from axon_scim.models import AuditEvent

    retired = []
    for n in range(count):
        user_id = str(uuid.uuid4())
        events.append(
            AuditEvent(
                organization=org,
                action="user.deleted",
                resource_type="User",
                resource_id=user_id,
                before={"id": user_id},
            )
        )
        retired.append(
            get_user_model()(username=f"deleted:{user_id}:gone{n}", is_active=False, password="!")
        )
    get_user_model().objects.bulk_create(retired, batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_demo.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from axon_scim.invariants import verify_state
    from axon_scim.management.commands.verify_scim_state import describe
    from axon_scim.models import Organization

    call_command("migrate", verbosity=0)
    if not Organization.objects.filter(slug=SLUG).exists():
        started = time.perf_counter()
        seed(options.users)
        print(f"seeded {options.users} users in {time.perf_counter() - started:.1f} s")
    organization = Organization.objects.get(slug=SLUG)
    started = time.perf_counter()
    check = verify_state(organization)
    elapsed = time.perf_counter() - started
    print(f"{SLUG}: {describe(check)}")
    print(f"verify_state took {elapsed:.1f} s")


if __name__ == "__main__":
    main()
