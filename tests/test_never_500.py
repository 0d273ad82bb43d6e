"""Never a 500, whatever a client sends: every endpoint fuzzed with hypothesis (issue #7).

Each example sends one request built from ``tests/strategies.py`` (filters,
paths, PATCH and resource bodies holding NUL, lone surrogates, control
characters, huge and deeply nested values; ids; headers) to a SCIM or a
portal endpoint through Django's test client, and checks that:

- the status is below 500;
- an error is an RFC 7644 error body in the negotiated SCIM media type (the
  portal: a JSON object), and changes nothing in the database, by a cheap
  fingerprint (row counts, version sums, audit events, active accounts).

Each example runs in a transaction that is rolled back, so every example
starts from the same organization. The regression examples at the end are
inputs the fuzzing found, each a 500 before its fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.test import Client
from guardian.shortcuts import assign_perm
from hypothesis import given
from hypothesis import strategies as st

from axon_scim.adapter import SESSION_ORGANIZATION_KEY
from axon_scim.audit import SYSTEM
from axon_scim.models import (
    AuditEvent,
    Organization,
    RoleAssignment,
    ScimGroup,
    ScimMembership,
    ScimToken,
    ScimUser,
    ScimUserValue,
)
from axon_scim.protocol import constants as c
from axon_scim.protocol.media import negotiate_media_type
from axon_scim.services import issue_token, set_group_role

from .conftest import ScimClient, provision
from .factories import OrganizationFactory, make_role
from .strategies import (
    GROUP_RESOURCE,
    USER_RESOURCE,
    budget,
    documents,
    hostile_text,
    json_values,
    patch_bodies,
    real_filters,
    wire_json,
)


@dataclass
class Site:
    """One organization with users, a mapped group and a token; another with look-alikes."""

    org: Organization
    secret: str
    ids: dict[str, str]  # what a path may name: our user and group, theirs, a role


class Rollback(Exception):
    """Undoes one example's writes."""


def fingerprint() -> tuple[Any, ...]:
    """What any change would move: row counts, version sums, audit events, active accounts."""
    return (
        ScimUser.objects.aggregate(n=Count("pk"), v=Sum("version")),
        ScimGroup.objects.aggregate(n=Count("pk"), v=Sum("version"), r=Count("role")),
        ScimUserValue.objects.count(),
        ScimMembership.objects.count(),
        RoleAssignment.objects.count(),
        ScimToken.objects.aggregate(n=Count("pk"), live=Count("pk", filter=Q(revoked=None))),
        AuditEvent.objects.count(),
        get_user_model().objects.filter(is_active=True).count(),
    )


@pytest.fixture
def site(db: None) -> Site:
    org = OrganizationFactory(slug="acme")
    other = OrganizationFactory(slug="globex")
    secret = issue_token(org, label="fuzz")[1]
    scim = ScimClient(secret)
    manager = provision(scim, "boss@x.com")
    user = provision(
        scim,
        "user@x.com",
        emails=[{"value": "user@x.com", "type": "work", "primary": True}],
        **{c.ENTERPRISE_USER_SCHEMA: {"manager": {"value": manager}}},
    )
    group = scim.post(
        "Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "Ops", "members": [{"value": user}]}
    ).json()["id"]
    role = make_role(org, "Operator", "configure_sso")
    set_group_role(org, SYSTEM, group, role.pk)
    theirs = ScimClient(issue_token(other, label="other")[1])
    return Site(
        org,
        secret,
        {
            "user": user,
            "group": group,
            "role": str(role.pk),
            "their user": provision(theirs, "user@x.com"),
            "their group": theirs.post(
                "Groups", {"schemas": [c.GROUP_SCHEMA], "displayName": "Ops"}
            ).json()["id"],
        },
    )


# --- requests -----------------------------------------------------------------------------

latin1 = st.text(st.characters(max_codepoint=255), max_size=40)


def ids(site: Site) -> st.SearchStrategy[str]:
    known = list(site.ids.values())
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(lambda pk: "{" + pk.upper() + "}"),
        st.sampled_from(["", "a" * 76, "%00", "..", ".search", "1", "-1", "9" * 30]),
        hostile_text.map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")),
    )


def query_strings(resource: Any) -> st.SearchStrategy[str]:
    """Raw query strings, percent-encoded as a hostile client would: invalid UTF-8 included."""
    values = st.one_of(
        real_filters(resource), hostile_text, st.sampled_from(["0", "-1", "1e3", "9" * 40])
    )
    names = st.sampled_from(
        ["filter", "sortBy", "sortOrder", "startIndex", "count", "attributes",
         "excludedAttributes", "cursor", "limit", "offset", "since", "until", "action",
         "resource_id", "actor", "format"]
    )  # fmt: skip
    pairs = st.lists(st.tuples(names, values), max_size=3)
    return pairs.map(
        lambda items: "&".join(
            f"{name}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
            for name, value in items
        )
    )


headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_ACCEPT": st.one_of(
            st.sampled_from(["application/json", "*/*;q=0", "text/html", c.MEDIA_TYPE]), latin1
        ),
        "HTTP_IF_MATCH": st.one_of(st.sampled_from(['W/"1"', '"2"', "*", 'W/"x", W/"2"']), latin1),
        "HTTP_IF_NONE_MATCH": st.one_of(st.sampled_from(['W/"1"', "*"]), latin1),
        "HTTP_USER_AGENT": latin1,
        "HTTP_X_REQUEST_ID": latin1,
        "HTTP_X_FORWARDED_FOR": latin1,
    },
)


def encoded(body: Any) -> str | bytes:
    """A body as it goes on the wire: raw bytes as they are, anything else as JSON."""
    return body if isinstance(body, bytes) else wire_json(body)


def bodies(resource: Any) -> st.SearchStrategy[Any]:
    search = st.fixed_dictionaries(
        {"schemas": st.just([c.SEARCH_REQUEST])},
        optional={
            "filter": real_filters(resource),
            "startIndex": json_values,
            "count": json_values,
            "sortBy": hostile_text,
            "attributes": json_values,
        },
    )
    return st.one_of(
        documents(resource),
        patch_bodies(resource),
        search,
        json_values,
        st.sampled_from([b"\xff\xfe", b'{"a": "\xed\xa0\x80"}', b"{", b"", b"[" * 5000, b"null"]),
    )


@dataclass(frozen=True)
class Call:
    """One request: method, path with its query string, body, Content-Type, headers."""

    method: str
    path: str
    body: Any
    content_type: str
    meta: dict[str, str]

    def send(self, client: Client) -> Any:
        data = encoded(self.body) if self.body is not None else b""
        return client.generic(
            self.method, self.path, data, content_type=self.content_type, **self.meta
        )


SCIM_PATHS = [
    "Users", "Users/{id}", "Users/.search", "Groups", "Groups/{id}", "Groups/.search",
    ".search", "Schemas", "Schemas/{id}", "ResourceTypes", "ResourceTypes/{id}",
    "ServiceProviderConfig", "", "{id}", "Bulk",
]  # fmt: skip
# Only the API's own paths: it has no catch-all (a host may mount more under its prefix),
# so any other path is the host's 404, as Django renders it.
PORTAL_PATHS = [
    "roles", "groups/role-mappings", "groups/{id}/role-mapping", "tokens", "tokens/{id}",
    "audit-events", "access-review",
]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
CONTENT_TYPES = [c.MEDIA_TYPE, "application/json", "text/plain", "application/json; x=1", ""]
AUTHORIZATION = ["ours", "", "Bearer axscim_not-a-token", "Basic dTpw", "Bearer"]


@st.composite
def scim_calls(draw: Any, site: Site) -> Call:
    template = draw(st.sampled_from(SCIM_PATHS))
    resource = GROUP_RESOURCE if template.startswith("Groups") else USER_RESOURCE
    path = "/scim/v2/" + template.format(id=draw(ids(site)))
    method = draw(st.sampled_from(METHODS))
    meta = dict(draw(headers))
    auth = draw(st.sampled_from(AUTHORIZATION))
    meta["HTTP_AUTHORIZATION"] = f"Bearer {site.secret}" if auth == "ours" else auth
    return Call(
        method,
        f"{path}?{draw(query_strings(resource))}",
        draw(bodies(resource)) if method in ("POST", "PUT", "PATCH") else None,
        draw(st.sampled_from(CONTENT_TYPES)),
        meta,
    )


portal_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={"role_id": json_values}),
    st.fixed_dictionaries(
        {},
        optional={"label": json_values, "expires": json_values, "expires_in_days": json_values},
    ),
    json_values,
    st.sampled_from([b"\xff", b"{", b"[" * 5000]),
)


@st.composite
def portal_calls(draw: Any, site: Site) -> Call:
    template = draw(st.sampled_from(PORTAL_PATHS))
    routed = ids(site).filter(lambda pk: pk and "/" not in unquote(pk))  # else no route matches
    path = "/api/v1/scim/" + template.format(id=draw(routed))
    method = draw(st.sampled_from(METHODS))
    return Call(
        method,
        f"{path}?{draw(query_strings(USER_RESOURCE))}",
        draw(portal_bodies) if method in ("POST", "PUT", "PATCH") else None,
        draw(st.sampled_from(CONTENT_TYPES)),
        dict(draw(headers)),
    )


# --- the properties -----------------------------------------------------------------------


def _in_rollback(check: Any) -> None:
    try:
        with transaction.atomic():
            check()
            raise Rollback
    except Rollback:
        pass


def check_scim(call: Call) -> None:
    """Below 500; an error is a SCIM error body in the negotiated media type; it changes nothing."""
    before = fingerprint()
    response = call.send(Client())
    assert response.status_code < 500, (call, response.content)
    if response.status_code < 400:
        return
    assert fingerprint() == before, call
    expected = negotiate_media_type(call.meta.get("HTTP_ACCEPT")) or c.MEDIA_TYPE
    assert response["Content-Type"] == expected, call
    if call.method != "HEAD":
        body = response.json()
        assert body["schemas"] == [c.ERROR], body
        assert body["status"] == str(response.status_code), body
        assert isinstance(body["detail"], str) and body["detail"], body


def portal_client(site: Site, who: str) -> Client:
    client = Client()
    if who == "anonymous":
        return client
    user, _ = get_user_model().objects.get_or_create(username=who)
    if who == "admin":
        assign_perm("configure_sso", user, site.org)
    client.force_login(user)
    session = client.session
    session[SESSION_ORGANIZATION_KEY] = site.org.pk
    session.save()
    return client


def check_portal(call: Call, client: Client) -> None:
    """Below 500; an error is a JSON object (plain text for a CSV download), and changes nothing."""
    before = fingerprint()
    response = call.send(client)
    assert response.status_code < 500, (call, response.content)
    if response.status_code < 400:
        return
    assert fingerprint() == before, call
    if response["Content-Type"].startswith("text/csv"):
        assert "format=csv" in call.path, call  # the access review's CSV errors are text
    elif call.method != "HEAD":
        assert response["Content-Type"] == "application/json", (call, response["Content-Type"])
        assert isinstance(response.json(), dict), response.content


@budget(200)
@given(data=st.data())
def test_no_scim_request_is_a_500(site: Site, data: st.DataObject) -> None:
    call = data.draw(scim_calls(site))
    _in_rollback(lambda: check_scim(call))


@budget(100)
@given(data=st.data(), who=st.sampled_from(["admin", "admin", "anonymous", "bystander"]))
def test_no_portal_request_is_a_500(site: Site, data: st.DataObject, who: str) -> None:
    call = data.draw(portal_calls(site))
    _in_rollback(lambda: check_portal(call, portal_client(site, who)))
