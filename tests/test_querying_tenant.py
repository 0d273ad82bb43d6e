"""Multi-valued terms under ``or``, compiled as uncorrelated subqueries of one organization.

With ``organization`` given, ``compile_filter`` turns a multi-valued term
under ``or`` into ``pk IN (SELECT owner ... WHERE organization_id = ...)``
rather than a correlated ``EXISTS``. Each multi-valued case of
``test_querying`` must select the same rows either way, and never a row of
the other organization (which holds look-alike values).
"""

from __future__ import annotations

from typing import Any

import pytest

from axon_scim.models import Organization, ScimGroup, ScimUser
from axon_scim.protocol.filter import parse_filter
from axon_scim.protocol.schemas import GROUP_RESOURCE, USER_RESOURCE
from axon_scim.querying import compile_filter
from tests.test_querying import (
    Directory,
    directory,  # noqa: F401 (the fixture)
    test_group_filters,
    test_multi_valued_filters,
)

NOTHING = 'userName eq "no such user at all"'


def _cases(test: Any) -> list[tuple[str, list[str]]]:
    """The (filter, expected) pairs of a parametrized test of ``test_querying``."""
    return next(mark.args[1] for mark in test.pytestmark if mark.name == "parametrize")


def _user_names(text: str, org: Organization) -> list[str]:
    q = compile_filter(parse_filter(text), USER_RESOURCE, organization=org)
    rows = ScimUser.objects.for_tenant(org).filter(q)
    return sorted((u.user_name for u in rows), key=str.lower)


@pytest.mark.parametrize(("text", "expected"), _cases(test_multi_valued_filters))
def test_or_ed_multi_valued_terms_select_the_same_users(
    directory: Directory,  # noqa: F811
    text: str,
    expected: list[str],
) -> None:
    assert _user_names(f"({text}) or {NOTHING}", directory.acme) == expected
    assert _user_names(f"{NOTHING} or not ({text})", directory.acme) == sorted(
        {"ajones", "BJensen", "ckent", "jsmith"} - set(expected), key=str.lower
    )


@pytest.mark.parametrize(("text", "expected"), _cases(test_group_filters))
def test_or_ed_group_terms_select_the_same_groups(
    directory: Directory,  # noqa: F811
    text: str,
    expected: list[str],
) -> None:
    nothing = 'displayName eq "no such group"'
    q = compile_filter(
        parse_filter(f"({text}) or {nothing}"), GROUP_RESOURCE, organization=directory.acme
    )
    rows = ScimGroup.objects.for_tenant(directory.acme).filter(q)
    assert sorted(g.display_name for g in rows) == expected


def test_the_subquery_is_restricted_to_the_organization(
    directory: Directory,  # noqa: F811
) -> None:
    text = f'emails co "example.com" or {NOTHING}'
    assert _user_names(text, directory.other) == ["bjensen"]
    assert _user_names(text, directory.acme) == ["BJensen"]
    q = compile_filter(parse_filter(text), USER_RESOURCE, organization=directory.acme)
    sql = str(ScimUser.objects.filter(q).query)
    assert "EXISTS" not in sql
    assert f'"organization_id" = {directory.acme.pk}' in sql
    other_group = directory.other_group.pk
    assert _user_names(f'groups.value eq "{other_group}" or {NOTHING}', directory.acme) == []
