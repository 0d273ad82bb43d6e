"""Long values (issue #7, finding 3): accepted, returned and filterable up to a documented maximum.

A value of a multi-valued attribute longer than about 2.7 KB used to fail
on PostgreSQL with ``index row size exceeds btree maximum``: the lookup
index held the value itself. It now holds ``value_digest()`` of the value,
and equality compiles to digest-equality AND value-equality.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from django.db import connection

from axon_scim.models import (
    DEFAULT_VALUE_MAX_LENGTH,
    VALUE_MAX_LENGTHS,
    Organization,
    ScimUser,
    ScimUserValue,
    value_digest,
)
from axon_scim.protocol import constants as c
from axon_scim.protocol.filter import MAX_FILTER_LENGTH, parse_filter
from axon_scim.protocol.schemas import USER_RESOURCE
from axon_scim.querying import compile_filter

from .conftest import ScimClient, patch_body, provision, requires_postgresql
from .factories import ScimUserFactory
from .test_errors import assert_error


def incompressible(length: int) -> str:
    """Text that no compression shortens, as a real certificate is."""
    return base64.b64encode(os.urandom(length))[:length].decode()


def search(scim: ScimClient, text: str) -> list[str]:
    response = scim.post("Users/.search", {"schemas": [c.SEARCH_REQUEST], "filter": text})
    assert response.status_code == 200, response.content
    return [doc["id"] for doc in response.json()["Resources"]]


LONGEST = [
    ("x509Certificates", VALUE_MAX_LENGTHS["x509Certificates"]),
    ("photos", VALUE_MAX_LENGTHS["photos"]),
    ("emails", DEFAULT_VALUE_MAX_LENGTH),
    ("phoneNumbers", DEFAULT_VALUE_MAX_LENGTH),
]


def test_the_documented_maxima() -> None:
    assert VALUE_MAX_LENGTHS["x509Certificates"] >= 16384
    assert VALUE_MAX_LENGTHS["photos"] >= 16384
    # The longest value fits in a filter, with room for the attribute path around it.
    assert max(VALUE_MAX_LENGTHS.values()) + 1024 <= MAX_FILTER_LENGTH


@pytest.mark.django_db
@pytest.mark.parametrize(("attribute", "longest"), LONGEST)
def test_the_longest_value_is_accepted_returned_and_filterable(
    scim: ScimClient, attribute: str, longest: int
) -> None:
    value = incompressible(longest)
    other = provision(scim, "other@x.com", **{attribute: [{"value": incompressible(longest)}]})
    user = provision(scim, "long@x.com", **{attribute: [{"value": value, "type": "work"}]})
    assert scim.get(f"Users/{user}").json()[attribute][0]["value"] == value
    assert search(scim, f'{attribute}.value eq "{value}"') == [user]
    assert search(scim, f'{attribute}[value eq "{value}" and type eq "work"]') == [user]
    assert search(scim, f'{attribute}.value ne "{value}"') == [other]
    assert search(scim, f'{attribute}.value eq "{value[:-1]}"') == []


@pytest.mark.django_db
@pytest.mark.parametrize(("attribute", "longest"), LONGEST)
def test_a_longer_value_is_400_naming_the_attribute(
    scim: ScimClient, attribute: str, longest: int
) -> None:
    too_long = [{"value": incompressible(longest + 1)}]
    response = scim.post(
        "Users", {"schemas": [c.USER_SCHEMA], "userName": "u", attribute: too_long}
    )
    error = assert_error(response, 400, "invalidValue")
    assert f'"{attribute}.value" is longer than {longest} characters' in error["detail"]
    user = provision(scim, "patched@x.com")
    response = scim.patch(
        f"Users/{user}", patch_body({"op": "add", "path": attribute, "value": too_long})
    )
    assert_error(response, 400, "invalidValue")
    assert ScimUser.objects.count() == 1
    assert not ScimUserValue.objects.exists()


@pytest.mark.django_db
def test_long_values_can_be_patched_and_filtered_case_insensitively(scim: ScimClient) -> None:
    value = incompressible(3000).lower() + "@x.com"
    user = provision(scim, "p@x.com")
    response = scim.patch(
        f"Users/{user}",
        patch_body({"op": "add", "path": "emails", "value": [{"value": value}]}),
    )
    assert response.status_code == 200, response.content
    assert search(scim, f'emails.value eq "{value.upper()}"') == [user]  # caseExact false
    patched = scim.patch(
        f"Users/{user}",
        patch_body({"op": "remove", "path": f'emails[value eq "{value}"]'}),
    )
    assert "emails" not in patched.json()


@pytest.mark.django_db
def test_equality_checks_the_value_as_well_as_the_digest(org: Organization) -> None:
    """Two values sharing a digest must not match each other's filters."""
    user = ScimUserFactory(organization=org)
    row = ScimUserValue.objects.create(organization=org, user=user, attribute="emails", value="a")
    ScimUserValue.objects.filter(pk=row.pk).update(value_digest=value_digest("b"))
    rows = ScimUser.objects.for_tenant(org)
    for text in ('emails.value eq "b"', 'emails[value eq "b"]', 'emails.value eq "a"'):
        assert not rows.filter(compile_filter(parse_filter(text), USER_RESOURCE)).exists()
    assert rows.filter(compile_filter(parse_filter('emails.value co "a"'), USER_RESOURCE)).exists()


def test_the_digest_is_md5_of_the_lower_cased_value() -> None:
    assert value_digest("Ab@X.com") == value_digest("ab@x.com")
    assert value_digest("") == "d41d8cd98f00b204e9800998ecf8427e"
    row = ScimUserValue(attribute="emails", value="Ab@X.com")
    row.derive_lookup_columns()
    assert (row.value_lower, row.value_digest) == ("ab@x.com", value_digest("ab@x.com"))


def _plan(org: Organization, text: str) -> str:
    rows = ScimUser.objects.for_tenant(org).filter(
        compile_filter(parse_filter(text), USER_RESOURCE)
    )
    return rows.explain()


@requires_postgresql
@pytest.mark.django_db
def test_equality_on_a_value_uses_the_digest_index(org: Organization) -> None:
    users = ScimUser.objects.bulk_create(
        ScimUser(organization=org, user_name=f"u{n}", user_name_lower=f"u{n}") for n in range(3000)
    )
    values: list[Any] = []
    for n, user in enumerate(users):
        for kind in ("work", "home"):
            row = ScimUserValue(
                organization=org, user=user, attribute="emails", type=kind, value=f"{kind}{n}@x.com"
            )
            row.derive_lookup_columns()
            values.append(row)
    ScimUserValue.objects.bulk_create(values)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE axon_scim_scimuser, axon_scim_scimuservalue")
    for text in ('emails.value eq "work17@x.com"', 'emails[value eq "work17@x.com"]'):
        plan = _plan(org, text)
        assert "axon_scim_value_digest" in plan, plan


# Every string column a client writes, with its documented maximum (README, "Guarantees").
USER_MAXIMA = [
    ("userName", "user_name", 255),
    ("externalId", "external_id", 255),
    ("displayName", "display_name", 255),
    ("nickName", "nick_name", 255),
    ("profileUrl", "profile_url", 1024),
    ("title", "title", 255),
    ("userType", "user_type", 255),
    ("preferredLanguage", "preferred_language", 64),
    ("locale", "locale", 64),
    ("timezone", "timezone", 64),
    ("name.formatted", "name_formatted", 512),
    ("name.familyName", "name_family", 255),
    ("name.givenName", "name_given", 255),
    ("name.middleName", "name_middle", 255),
    ("name.honorificPrefix", "name_honorific_prefix", 64),
    ("name.honorificSuffix", "name_honorific_suffix", 64),
    (f"{c.ENTERPRISE_USER_SCHEMA}:employeeNumber", "employee_number", 255),
    (f"{c.ENTERPRISE_USER_SCHEMA}:costCenter", "cost_center", 255),
    (f"{c.ENTERPRISE_USER_SCHEMA}:organization", "enterprise_organization", 255),
    (f"{c.ENTERPRISE_USER_SCHEMA}:division", "division", 255),
    (f"{c.ENTERPRISE_USER_SCHEMA}:department", "department", 255),
    ("emails.type", "type", 64),
    ("emails.display", "display", 255),
]


def _user_body(path: str, value: str) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [c.USER_SCHEMA, c.ENTERPRISE_USER_SCHEMA], "userName": "u"}
    if path.startswith(c.ENTERPRISE_USER_SCHEMA):
        body[c.ENTERPRISE_USER_SCHEMA] = {path.rpartition(":")[2]: value}
    elif path.startswith("emails."):
        body["emails"] = [{"value": "u@x.com", path.partition(".")[2]: value}]
    elif path.startswith("name."):
        body["name"] = {path.partition(".")[2]: value}
    else:
        body[path] = value
    return body


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "column", "longest"), USER_MAXIMA)
def test_every_user_string_has_its_maximum(
    scim: ScimClient, path: str, column: str, longest: int
) -> None:
    model = ScimUserValue if path.startswith("emails.") else ScimUser
    assert model._meta.get_field(column).max_length == longest  # the table is the truth
    response = scim.post("Users", _user_body(path, "é" * (longest + 1)))
    error = assert_error(response, 400, "invalidValue")
    assert f'"{path}" is longer than {longest} characters' in error["detail"]
    assert not ScimUser.objects.exists()
    response = scim.post("Users", _user_body(path, "é" * longest))
    assert response.status_code == 201, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("attribute", ["displayName", "externalId"])
def test_group_strings_have_their_maximum(scim: ScimClient, attribute: str) -> None:
    body = {"schemas": [c.GROUP_SCHEMA], "displayName": "G", attribute: "g" * 256}
    assert_error(scim.post("Groups", body), 400, "invalidValue")
    group = scim.post("Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "G"}).json()["id"]
    operation = {"op": "replace", "path": attribute, "value": "g" * 256}
    error = assert_error(scim.patch(f"Groups/{group}", patch_body(operation)), 400, "invalidValue")
    assert f'"{attribute}" is longer than 255 characters' in error["detail"]
    operation["value"] = "g" * 255
    assert scim.patch(f"Groups/{group}", patch_body(operation)).status_code == 200
