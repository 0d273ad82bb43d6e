"""The query checker (tests/tenancy.py) that the whole suite runs: it catches what it must.

Every test of the suite fails when axon_scim issues a statement on a tenant
table that does not name one organization (``conftest.tenancy_checker``).
These tests show the checker itself: what it accepts and refuses, that a
deliberately unscoped query made by axon_scim fails a test, that the one
allowed reason lets it pass, and that the tables it knows are the ones
docs/scaling.md lays out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

from axon_scim.models import Organization, ScimMembership, ScimUser, ScimUserValue
from axon_scim.services._common import retry_locks
from axon_scim.tenancy import cross_organization

from .conftest import ScimClient, provision
from .factories import ScimGroupFactory, ScimMembershipFactory, ScimUserFactory
from .tenancy import (
    ALLOWED_REASONS,
    REFERENCE_MODELS,
    TenancyChecker,
    check_sql,
    checking,
    tenant_tables,
)

ROOT = Path(__file__).resolve().parent.parent
TABLES = {"axon_scim_scimuser", "axon_scim_scimmembership", "axon_scim_scimgroup"}
DISTRIBUTED = {
    "ScimUser",
    "ScimUserValue",
    "ScimGroup",
    "ScimMembership",
    "RoleAssignment",
    "ManagedPermission",
    "AuditEvent",
    "AuditChain",
    "ScimRequestFailure",
    "ScimExtensionValue",
    "CustomAttribute",
}

USER = '"axon_scim_scimuser"'
MEMBER = '"axon_scim_scimmembership"'


@pytest.mark.parametrize(
    "sql, params",
    [
        (f'SELECT * FROM {USER} WHERE {USER}."organization_id" = %s AND {USER}."id" = %s', [1, 2]),
        (f'SELECT * FROM {USER} U0 WHERE U0."organization_id" IN (%s)', [1]),
        ("SELECT * FROM auth_user WHERE id = %s", [1]),  # not a tenant table
        # A join, the joined table constrained through the organization columns.
        (
            f'SELECT * FROM {MEMBER} LEFT OUTER JOIN {USER} T3 ON ({MEMBER}."user_id" = T3."id"'
            f' AND (T3."organization_id" = ({MEMBER}."organization_id")))'
            f' WHERE {MEMBER}."organization_id" = %s',
            [7],
        ),
        (f'INSERT INTO {USER} ("id", "organization_id") VALUES (%s, %s), (%s, %s)', [1, 5, 2, 5]),
        (f"UPDATE {USER} SET title = %s WHERE organization_id = %s", ["x", 1]),
        (f"SELECT m.id FROM {MEMBER} m WHERE m.organization_id = %s AND m.group_id = %s", [1, 2]),
    ],
)
def test_single_shard_statements_pass(sql: str, params: list[Any]) -> None:
    assert check_sql(sql, params, TABLES) is None


@pytest.mark.parametrize(
    "sql, params, problem",
    [
        (f'SELECT * FROM {USER} WHERE {USER}."id" = %s', [2], "axon_scim_scimuser"),
        (
            f'SELECT * FROM {MEMBER} INNER JOIN {USER} ON ({MEMBER}."user_id" = {USER}."id")'
            f' WHERE {MEMBER}."organization_id" = %s',
            [1],
            "axon_scim_scimuser",
        ),
        (f'DELETE FROM {MEMBER} WHERE {MEMBER}."user_id" IN (%s)', [1], "axon_scim_scimmembership"),
        (f'INSERT INTO {USER} ("id", "user_name") VALUES (%s, %s)', [1, "x"], "without"),
        (
            f'INSERT INTO {USER} ("id", "organization_id") VALUES (%s, %s), (%s, %s)',
            [1, 5, 2, 6],
            "spans organizations",
        ),
        (f'SELECT * FROM {USER} WHERE {USER}."organization_id" IN (%s, %s)', [1, 2], "several"),
    ],
)
def test_statements_reaching_several_shards_are_named(
    sql: str, params: list[Any], problem: str
) -> None:
    found = check_sql(sql, params, TABLES)
    assert found is not None and problem in found


@pytest.mark.tenancy_unchecked
@pytest.mark.django_db
def test_an_unscoped_query_made_by_axon_scim_is_caught(org: Organization) -> None:
    """A lookup by primary key alone, run from inside axon_scim, is a violation."""
    user = ScimUser.objects.create(organization=org, user_name="a@example.com")
    with checking(TenancyChecker()) as checker:
        retry_locks(lambda: ScimUser.objects.filter(pk=user.pk).first())
        retry_locks(lambda: ScimUser.objects.for_tenant(org).filter(pk=user.pk).first())
        ScimUser.objects.filter(pk=user.pk).first()  # the test's own: not judged, so one violation

    (violation,) = checker.violations
    assert "axon_scim_scimuser" in violation.problem and "is not constrained" in violation.problem
    assert violation.caller.startswith("services/_common.py:retry_locks")
    assert "retry_locks" in checker.report()


@pytest.mark.tenancy_unchecked
@pytest.mark.django_db
def test_saves_and_deletes_of_tenant_rows_name_the_organization(org: Organization) -> None:
    """``TenantModel``: Django's UPDATE by id and its collector's deletes, scoped."""
    manager = ScimUserFactory(organization=org, user_name="m@example.com")
    user = ScimUserFactory(organization=org, user_name="u@example.com", manager=manager)
    group = ScimGroupFactory(organization=org)
    ScimMembershipFactory(group=group, user=manager)
    ScimUserValue.objects.create(
        organization=org, user=manager, attribute="emails", position=0, value="m@example.com"
    )
    with checking(TenancyChecker()) as checker:
        manager.title = "Boss"
        retry_locks(manager.save)
        deleted = retry_locks(manager.delete)

    assert checker.violations == []
    assert deleted == (
        3,
        {"axon_scim.ScimUser": 1, "axon_scim.ScimUserValue": 1, "axon_scim.ScimMembership": 1},
    )
    user.refresh_from_db()
    assert user.manager_id is None
    assert not ScimMembership.objects.filter(group=group).exists()


@pytest.mark.tenancy_unchecked
@pytest.mark.django_db
def test_only_an_allowed_reason_lets_it_span_organizations(org: Organization) -> None:
    (reason,) = ALLOWED_REASONS
    with checking(TenancyChecker()) as checker:
        with cross_organization(reason):
            retry_locks(lambda: list(ScimUser.objects.all()))
        with cross_organization("because it is simpler"):
            retry_locks(lambda: list(ScimUser.objects.all()))

    (violation,) = checker.violations
    assert violation.reason == "because it is simpler"
    assert checker.reasons_used == {reason}


@pytest.mark.tenancy_unchecked
@pytest.mark.django_db
def test_statements_of_a_request_are_judged_whoever_runs_them(scim: ScimClient) -> None:
    with checking(TenancyChecker()) as checker:
        provision(scim, "b@example.com")
        assert scim.get("Users").status_code == 200
    assert checker.checked > 5 and checker.violations == []


def test_the_suite_judges_every_test(tenancy_checker: TenancyChecker | None) -> None:
    """The autouse fixture is on (AXON_TENANCY_CHECK=0 turns it off)."""
    assert isinstance(tenancy_checker, TenancyChecker)


def test_every_tenant_table_is_distributed_or_a_reference_table() -> None:
    with_organization = {
        model.__name__
        for model in apps.get_app_config("axon_scim").get_models()
        if any(f.column == "organization_id" for f in model._meta.concrete_fields)
    }
    assert with_organization == DISTRIBUTED | REFERENCE_MODELS
    assert {apps.get_model("axon_scim", name)._meta.db_table for name in DISTRIBUTED} == (
        tenant_tables()
    )


def test_the_scaling_guide_lays_out_every_table_and_reason() -> None:
    guide = (ROOT / "docs" / "scaling.md").read_text()
    for name in DISTRIBUTED | REFERENCE_MODELS:
        assert f"`{apps.get_model('axon_scim', name)._meta.db_table}`" in guide, name
    for reason in ALLOWED_REASONS:
        assert f'"{reason}"' in guide


def test_every_marker_in_axon_scim_names_an_allowed_reason() -> None:
    package = ROOT / "axon_scim"
    used = {
        match
        for path in package.rglob("*.py")
        for match in re.findall(r'cross_organization\("([^"]+)"\)', path.read_text())
    }
    assert used == set(ALLOWED_REASONS)
