"""Seeds one benchmark database in bulk (PostgreSQL COPY) and prepares a run's fixtures.

    python -m bench.seed ours|djscim2 quick|full FIXTURES.json

A database whose marker row (table ``bench_seed``) holds the same seed
parameters is reused as it is; otherwise it is dropped, migrated and seeded
again. Either way, rows left by the write scenarios of an earlier run are
removed and a fresh bearer token is issued; the token and the organization
ids are written to FIXTURES.json for the load plans.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg

from bench import data
from bench.config import ORG_SLUGS, PG_BASE, Sizes, db_name, sizes

# Users created by S4 and S10 carry this prefix, so the next run can remove them.
NEW_USER_PREFIX = "new-"
BATCH_REPORT = 0.1  # print progress every 10% of a table


def log(message: str) -> None:
    print(f"  [seed] {message}", file=sys.stderr, flush=True)


def read_marker(dbname: str) -> dict[str, Any] | None:
    """The seed parameters stored in ``dbname``, or None if it is missing or unseeded."""
    try:
        with psycopg.connect(f"{PG_BASE}/{dbname}", connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT params FROM bench_seed ORDER BY created DESC LIMIT 1"
            ).fetchone()
            return row[0] if row else None
    except psycopg.Error:
        return None


def recreate_database(dbname: str) -> None:
    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def skip_fk_checks(cursor: Any) -> None:
    """Skip the per-row foreign-key triggers for this transaction's bulk load.

    The rows are consistent by construction; without this PostgreSQL checks a
    million deferred foreign keys one by one at COMMIT, which takes minutes.
    Needs a superuser (the bench's ``postgres``).
    """
    cursor.execute("SET LOCAL session_replication_role = replica")


def write_marker(cursor: Any, params: dict[str, Any]) -> None:
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS bench_seed "
        "(params jsonb NOT NULL, created timestamptz NOT NULL DEFAULT now())"
    )
    cursor.execute("INSERT INTO bench_seed (params) VALUES (%s)", [json.dumps(params)])


def copy_rows(
    cursor: Any, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]], total: int
) -> None:
    """COPY ``rows`` into ``table`` through the psycopg cursor under Django's wrapper."""
    started, done, step = time.monotonic(), 0, max(1, int(total * BATCH_REPORT))
    sql = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
    with cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            done += 1
            if done % step == 0 or done == total:
                log(f"{table}: {done:,}/{total:,} ({time.monotonic() - started:.1f}s)")


def model_copy(cursor: Any, model: Any, rows: Iterable[dict[str, Any]], total: int) -> None:
    """COPY dicts keyed by field attname; fields a dict leaves out take their default."""
    from django.db.models import AutoField, BigAutoField
    from psycopg.types.json import Jsonb

    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    fields = [
        f
        for f in model._meta.concrete_fields
        if f.attname in first or not isinstance(f, AutoField | BigAutoField)
    ]

    def tuples() -> Iterator[tuple[Any, ...]]:
        for row in _chain(first, iterator):
            values = []
            for f in fields:
                value = row[f.attname] if f.attname in row else f.get_default()
                values.append(Jsonb(value) if isinstance(value, dict | list) else value)
            yield tuple(values)

    copy_rows(cursor, model._meta.db_table, [f'"{f.column}"' for f in fields], tuples(), total)


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def setup_django(settings_module: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    log("migrating")
    call_command("migrate", verbosity=0, interactive=False)


# --- axon-scim ------------------------------------------------------------------


def seed_ours(size: Sizes) -> None:
    """Two organizations of ``size.users`` users, their emails, accounts and groups."""
    from django.db import connection, transaction

    from axon_scim.models import Organization

    with transaction.atomic(), connection.cursor() as cursor:
        skip_fk_checks(cursor)
        for slug in ORG_SLUGS:
            org = Organization.objects.create(slug=slug, name=f"Bench {slug[-1].upper()}")
            seed_our_org(cursor, slug, org.pk, size)
        write_marker(cursor, size.seed_params())
    _analyze()


def seed_our_org(cursor: Any, slug: str, org_id: int, size: Sizes, big: bool = True) -> None:
    """One organization's users, emails, accounts and groups (the big group when ``big``),
    by COPY inside the caller's transaction, which skips the foreign-key checks."""
    from django.contrib.auth import get_user_model

    from axon_scim.models import ScimGroup, ScimMembership, ScimUser, ScimUserValue, value_digest

    account_model = get_user_model()
    table, n = account_model._meta.db_table, size.users
    # guardian's post_migrate adds an anonymous account: start after it (and other orgs').
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
    first_account = cursor.fetchone()[0] + 1
    log(f"organization {slug}: {n:,} users")
    model_copy(cursor, account_model, (_our_account(slug, first_account, i) for i in range(n)), n)
    model_copy(cursor, ScimUser, (_our_user(slug, org_id, first_account, i) for i in range(n)), n)
    model_copy(
        cursor,
        ScimUserValue,
        (
            {
                "organization_id": org_id,
                "user_id": data.user_uuid(slug, i),
                "attribute": "emails",
                "position": p,
                "type": kind,
                "value": email,
                "value_lower": email.lower(),
                "value_digest": value_digest(email),
                "display": "",
                "primary": p == 0,
                "extra": {},
            }
            for i in range(n)
            for p, (kind, email) in enumerate(
                (("work", data.work_email(slug, i)), ("home", data.home_email(slug, i)))
            )
        ),
        2 * n,
    )
    groups = [(data.group_uuid(slug, g), f"Group {g:04d}", g) for g in range(size.small_groups)]
    if big:
        groups.append((data.big_group_uuid(slug), "All Staff", size.small_groups))
    model_copy(
        cursor, ScimGroup, (_our_group(slug, org_id, *group) for group in groups), len(groups)
    )
    memberships = size.small_groups * size.group_size + (n if big else 0)
    model_copy(cursor, ScimMembership, _our_memberships(slug, org_id, size, big), memberships)
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
    )


def _our_account(slug: str, first_account: int, i: int) -> dict[str, Any]:
    return {
        "id": first_account + i,
        "password": "!bench-unusable",
        "username": f"{slug}:{data.user_name(slug, i)}",
        "first_name": data.given_name(i),
        "last_name": data.family_name(i),
        "email": data.work_email(slug, i),
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "date_joined": data.created(i),
        "last_login": None,
    }


def _our_group(slug: str, org_id: int, gid: Any, name: str, g: int) -> dict[str, Any]:
    return {
        "id": gid,
        "organization_id": org_id,
        "display_name": name,
        "display_name_lower": name.lower(),
        "external_id": f"ext-group-{slug}-{g}",
        "version": 1,
        "created": data.created(g),
        "last_modified": data.created(g),
    }


def _our_user(slug: str, org_id: int, first_account: int, i: int) -> dict[str, Any]:
    name = data.user_name(slug, i)
    manager = data.manager_index(i)
    return {
        "id": data.user_uuid(slug, i),
        "organization_id": org_id,
        "account_id": first_account + i,
        "user_name": name,
        "user_name_lower": name.lower(),
        "external_id": f"ext-{slug}-{i:06d}",
        "active": True,
        "display_name": f"{data.given_name(i)} {data.family_name(i)}",
        "name_formatted": f"{data.given_name(i)} {data.family_name(i)}",
        "name_given": data.given_name(i),
        "name_family": data.family_name(i),
        "title": "Engineer",
        "employee_number": str(i),
        "cost_center": f"CC{i % 50:02d}",
        "enterprise_organization": f"Bench {slug}",
        "division": f"Division {i % 5}",
        "department": data.DEPARTMENTS[i % len(data.DEPARTMENTS)],
        "manager_id": data.user_uuid(slug, manager) if manager is not None else None,
        "version": 1,
        "created": data.created(i),
        "last_modified": data.created(i),
    }


def _our_memberships(
    slug: str, org_id: int, size: Sizes, big: bool = True
) -> Iterator[dict[str, Any]]:
    for g in range(size.small_groups):
        gid = data.group_uuid(slug, g)
        for i in data.small_group_members(g, size.group_size, size.users):
            yield {
                "organization_id": org_id,
                "group_id": gid,
                "user_id": data.user_uuid(slug, i),
                "member_group_id": None,
                "created": data.EPOCH,
            }
    if not big:
        return
    for i in range(size.users):
        yield {
            "organization_id": org_id,
            "group_id": data.big_group_uuid(slug),
            "user_id": data.user_uuid(slug, i),
            "member_group_id": None,
            "created": data.EPOCH,
        }


def prepare_ours() -> dict[str, Any]:
    """Remove S4's users of an earlier run, issue a token, return the organization ids."""
    from django.contrib.auth import get_user_model

    from axon_scim.models import Organization, ScimUser
    from axon_scim.services import issue_token

    leftovers = ScimUser.objects.filter(user_name_lower__startswith=NEW_USER_PREFIX)
    accounts = list(leftovers.exclude(account=None).values_list("account_id", flat=True))
    removed, _ = leftovers.delete()
    get_user_model().objects.filter(pk__in=accounts).delete()
    if removed:
        log(f"removed {removed:,} rows left by an earlier run's S4")
    orgs = {org.slug: org for org in Organization.objects.filter(slug__in=ORG_SLUGS)}
    _, secret = issue_token(orgs[ORG_SLUGS[0]], label="bench")
    _, secret_b = issue_token(orgs[ORG_SLUGS[1]], label="bench")  # S2c's
    map_limits_group(orgs[ORG_SLUGS[0]])
    return {
        "token": secret,
        "token_b": secret_b,
        "org_ids": {slug: orgs[slug].pk for slug in ORG_SLUGS},
    }


def map_limits_group(organization: Any) -> None:
    """Map ``bench.limits.MAPPED_GROUP`` to a role, once, so its member changes sync roles."""
    from django.contrib.auth.models import Permission

    from axon_scim.audit import SYSTEM
    from axon_scim.models import Role
    from axon_scim.services import save_role, set_group_role
    from bench.limits import MAPPED_GROUP, ROLE_NAME

    role = Role.objects.filter(organization=organization, name=ROLE_NAME).first()
    if role is None:
        permissions = Permission.objects.filter(
            content_type__app_label="axon_scim", codename="configure_sso"
        )
        role = save_role(organization, SYSTEM, None, name=ROLE_NAME, permissions=permissions)
    # A no-op when the group is mapped already.
    set_group_role(organization, SYSTEM, data.group_uuid(organization.slug, MAPPED_GROUP), role.pk)


# --- django-scim2 -----------------------------------------------------------------


def seed_djscim2(size: Sizes) -> None:
    """The same organizations, users and groups in django-scim2's model shape."""
    from django.db import connection, transaction

    from bench.djscim2.models import Group, Organization, User

    n = size.users
    with transaction.atomic(), connection.cursor() as cursor:
        skip_fk_checks(cursor)
        for o, slug in enumerate(ORG_SLUGS):
            org = Organization.objects.create(slug=slug)
            log(f"organization {slug}: {n:,} users")
            model_copy(cursor, User, (_djscim2_user(slug, o, org.pk, i, n) for i in range(n)), n)
            groups = [
                (data.djscim2_group_id(o, g, size.small_groups), f"Group {g:04d}", g)
                for g in range(size.small_groups)
            ]
            groups.append(
                (data.djscim2_big_group_id(o, size.small_groups), "All Staff", size.small_groups)
            )
            model_copy(
                cursor,
                Group,
                (
                    {
                        "id": gid,
                        "scim_id": str(gid),
                        "scim_external_id": f"ext-group-{slug}-{g}",
                        "scim_display_name": name,
                        "organization_id": org.pk,
                        "name": name,
                    }
                    for gid, name, g in groups
                ),
                len(groups),
            )
            through = User.scim_groups.through
            model_copy(
                cursor,
                through,
                _djscim2_memberships(o, size),
                size.small_groups * size.group_size + n,
            )
        _djscim2_clients(n)
        for table in (User, Group, User.scim_groups.through):
            name = table._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT max(id) FROM {name}))"
            )
        write_marker(cursor, size.seed_params())
    _analyze()


def _djscim2_clients(n: int) -> None:
    """The SCIM client account of each organization, which its token belongs to."""
    from bench.djscim2.models import Organization, User

    User.objects.bulk_create(
        User(
            id=data.djscim2_client_id(o, n),
            username=f"scim-client-{slug}",
            organization_id=Organization.objects.get(slug=slug).pk,
            is_active=True,
            password="!bench-unusable",
        )
        for o, slug in enumerate(ORG_SLUGS)
    )


def _djscim2_user(slug: str, o: int, org_id: int, i: int, n: int) -> dict[str, Any]:
    uid = data.djscim2_user_id(o, i, n)
    name = data.user_name(slug, i)
    return {
        "id": uid,
        "password": "!bench-unusable",
        "last_login": None,
        "is_superuser": False,
        "username": name,
        "first_name": data.given_name(i),
        "last_name": data.family_name(i),
        "email": data.work_email(slug, i),
        "is_staff": False,
        "is_active": True,
        "date_joined": data.created(i),
        "scim_id": str(uid),
        "scim_external_id": f"ext-{slug}-{i:06d}",
        "scim_username": name,
        "organization_id": org_id,
    }


def _djscim2_memberships(o: int, size: Sizes) -> Iterator[dict[str, Any]]:
    for g in range(size.small_groups):
        gid = data.djscim2_group_id(o, g, size.small_groups)
        for i in data.small_group_members(g, size.group_size, size.users):
            yield {"user_id": data.djscim2_user_id(o, i, size.users), "group_id": gid}
    big = data.djscim2_big_group_id(o, size.small_groups)
    for i in range(size.users):
        yield {"user_id": data.djscim2_user_id(o, i, size.users), "group_id": big}


def prepare_djscim2() -> dict[str, Any]:
    """Remove S4's users of an earlier run, issue a token, return the organization ids."""
    from bench.djscim2.models import Organization, Token, User

    removed, _ = User.objects.filter(username__startswith=NEW_USER_PREFIX).delete()
    if removed:
        log(f"removed {removed:,} rows left by an earlier run's S4")
    secret = "bench_" + secrets.token_urlsafe(32)
    client = User.objects.get(username=f"scim-client-{ORG_SLUGS[0]}")
    Token.objects.create(user=client, secret_hash=Token.hash_secret(secret))
    orgs = {org.slug: org.pk for org in Organization.objects.all()}
    return {"token": secret, "org_ids": orgs}


def _analyze() -> None:
    from django.db import connection

    log("ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


IMPLEMENTATIONS: dict[str, tuple[str, Callable[[Sizes], None], Callable[[], Any]]] = {
    "ours": ("bench.settings_ours", seed_ours, prepare_ours),
    "djscim2": ("bench.djscim2.settings", seed_djscim2, prepare_djscim2),
}


def main(argv: list[str]) -> int:
    """Seed (when needed) and prepare one implementation's database."""
    impl, mode, out = argv
    settings_module, seed, prepare = IMPLEMENTATIONS[impl]
    size = sizes(mode == "full")
    dbname = db_name(impl, size.mode)
    # The settings modules read the database name from here.
    os.environ["BENCH_DB_NAME"] = dbname
    started = time.monotonic()
    reused = read_marker(dbname) == size.seed_params()
    if reused:
        log(f"{dbname}: reusing the seeded database ({size.mode} sizes)")
        setup_django(settings_module)
        # The app gains migrations while the seeded data stays valid: apply them.
        migrate()
    else:
        log(f"{dbname}: (re)creating and seeding for {size.mode} sizes")
        recreate_database(dbname)
        setup_django(settings_module)
        migrate()
        seed(size)
    if impl == "ours":
        # S2c's custom attribute values, added in place to a database seeded without them.
        from bench.custom_attr import seed_values

        seed_values(size.users)
    fixtures = prepare()
    fixtures["reused"] = reused
    fixtures["seconds"] = round(time.monotonic() - started, 1)
    with open(out, "w") as handle:
        json.dump(fixtures, handle)
    log(f"{dbname}: ready in {fixtures['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
