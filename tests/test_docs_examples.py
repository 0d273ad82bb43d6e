"""Every request the setup guides show is sent, and must answer what the guide says.

The guides (``docs/idp/*.md`` and ``docs/role-mapping.md``) show each request
as an ``http`` fenced block: a request line, headers, a blank line and an
optional JSON body. The ``http`` block right after it is the answer the guide
promises: a status line, optional headers, and optionally a JSON excerpt of
the body. Each guide's requests run in order against a fresh organization
that has the demo's roles (Viewer, Editor) declared, as the rollout's first
step says, and nothing else.

Placeholders such as ``<user-id>`` are filled in as they go: a placeholder in
a response excerpt takes the value the server answered there (the first time)
or must equal it (afterwards), and a request may use only placeholders an
earlier response defined. So the guide that creates a token with
``"token": "<token>"`` is the guide whose IdP requests then use ``Bearer
<token>``.

A response excerpt matches when every key it shows is in the answer with a
matching value; a list matches when each element shown matches some element
answered, and ``[]`` only an empty list. Requests that send a ``Cookie``
header run in the signed-in session of a portal admin holding
``sso:configure`` on the organization; ``Host``, ``Cookie`` and
``X-CSRFToken`` stand for that session and are not sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from django.test import Client
from guardian.shortcuts import assign_perm

from axon_scim.models import Organization

from .factories import AccountFactory, make_role

ROOT = Path(__file__).resolve().parent.parent
GUIDES = [*sorted((ROOT / "docs" / "idp").glob("*.md")), ROOT / "docs" / "role-mapping.md"]

#: The demo's roles (seed_demo), declared before a guide's requests run.
ROLES = {
    "Viewer": ("view_organization",),
    "Editor": ("view_organization", "change_organization"),
}

FENCE = re.compile(r"^```http\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)>")
SESSION_HEADERS = {"host", "cookie", "x-csrftoken"}

Bindings = dict[str, str]


@dataclass(frozen=True)
class Message:
    """One ``http`` block: its first line, headers and body, and where it is."""

    start: str
    headers: dict[str, str]
    body: str
    where: str


def http_blocks(path: Path) -> list[Message]:
    """The guide's ``http`` blocks, in order."""
    text = path.read_text()
    blocks = []
    for found in FENCE.finditer(text):
        line = text.count("\n", 0, found.start()) + 1
        head, _, body = found.group(1).partition("\n\n")
        start, *header_lines = head.strip("\n").split("\n")
        headers = {}
        for header in header_lines:
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        blocks.append(Message(start.strip(), headers, body.strip(), f"{path.name}:{line}"))
    return blocks


def exchanges(path: Path) -> list[tuple[Message, Message]]:
    """The guide's (request, response) pairs; every request is followed by its response."""
    blocks = http_blocks(path)
    pairs = []
    while blocks:
        request, *blocks = blocks
        assert not request.start.startswith("HTTP/"), f"{request.where}: a response without request"
        assert blocks and blocks[0].start.startswith("HTTP/"), (
            f"{request.where}: a request must be followed by an http block with its response"
        )
        response, *blocks = blocks
        pairs.append((request, response))
    return pairs


def substitute(text: str, bound: Bindings, where: str) -> str:
    """``text`` with every placeholder replaced by its value."""

    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        assert name in bound, f"{where}: <{name}> is used before a response defined it"
        return bound[name]

    return PLACEHOLDER.sub(value, text)


def match_text(expected: str, actual: str, bound: Bindings) -> Bindings | None:
    """Match a string that may hold placeholders; the bindings it adds, or None."""
    parts = PLACEHOLDER.split(expected)  # literal, name, literal, name, ...
    pattern = ""
    groups: dict[str, str] = {}  # placeholder -> its regex group
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern += re.escape(part)
        elif part in bound:
            pattern += re.escape(bound[part])
        elif part in groups:
            pattern += f"(?P={groups[part]})"
        else:
            groups[part] = f"g{len(groups)}"
            pattern += f"(?P<{groups[part]}>.+?)"
    found = re.fullmatch(pattern, actual, re.DOTALL)
    if found is None:
        return None
    return {name: found.group(group) for name, group in groups.items()}


def match(expected: Any, actual: Any, bound: Bindings) -> Bindings | None:
    """Match a response excerpt against the answer; the bindings it adds, or None."""
    if isinstance(expected, str):
        if isinstance(actual, str):
            return match_text(expected, actual, bound)
        whole = PLACEHOLDER.fullmatch(expected)
        is_id = isinstance(actual, int) and not isinstance(actual, bool)
        return match_text(expected, str(actual), bound) if whole and is_id else None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return None
        added: Bindings = {}
        for key, value in expected.items():
            found = match(value, actual.get(key), {**bound, **added}) if key in actual else None
            if found is None:
                return None
            added.update(found)
        return added
    if isinstance(expected, list):
        if not isinstance(actual, list) or (not expected and actual):
            return None
        added = {}
        for item in expected:
            found = next(
                (f for a in actual if (f := match(item, a, {**bound, **added})) is not None), None
            )
            if found is None:
                return None
            added.update(found)
        return added
    return {} if expected == actual and type(expected) is type(actual) else None


@dataclass
class Clients:
    """The two callers a guide shows: an identity provider and a signed-in portal admin."""

    idp: Client
    portal: Client


def send(clients: Clients, request: Message, bound: Bindings) -> Any:
    """Send one request block through the Django test client."""
    method, _, target = request.start.partition(" ")
    target = substitute(target.removesuffix(" HTTP/1.1"), bound, request.where)
    path, _, query = target.partition("?")
    # Guides show query strings readably (filter=userName eq "a@x"); encode them here.
    query = "&".join(
        "=".join(quote(unquote(piece), safe="") for piece in pair.split("=", 1))
        for pair in query.split("&")
        if pair
    )
    headers = {
        name: substitute(value, bound, request.where)
        for name, value in request.headers.items()
        if name.lower() not in SESSION_HEADERS
    }
    content_type = headers.pop("Content-Type", "application/octet-stream")
    client = clients.portal if "Cookie" in request.headers else clients.idp
    return client.generic(
        method,
        f"{path}?{query}" if query else path,
        substitute(request.body, bound, request.where).encode(),
        content_type=content_type,
        headers=headers,
    )


def check(response: Any, expected: Message, bound: Bindings, request: Message) -> Bindings:
    """Check the answer against the response block; the bindings it defines."""
    content = response.content.decode(errors="replace")
    status = int(expected.start.split()[1])
    assert response.status_code == status, (
        f"{request.where}: {request.start} answered {response.status_code}, "
        f"the guide says {status}: {content[:500]}"
    )
    added: Bindings = {}
    for name, value in expected.headers.items():
        found = match_text(value, response.get(name, ""), {**bound, **added})
        assert found is not None, f"{expected.where}: header {name} is {response.get(name)!r}"
        added.update(found)
    if expected.body:
        shown = json.loads(expected.body)
        found = match(shown, json.loads(content), {**bound, **added})
        assert found is not None, f"{expected.where}: the answer does not match:\n{content[:2000]}"
        added.update(found)
    return added


@pytest.fixture
def clients(db: None) -> Clients:
    """A fresh organization with the demo's roles, and its portal admin signed in."""
    organization = Organization.objects.create(slug="acme", name="Acme")
    for name, codenames in ROLES.items():
        make_role(organization, name, *codenames)
    admin: Any = AccountFactory(username="admin")
    assign_perm("configure_sso", admin, organization)
    portal = Client()
    portal.force_login(admin)
    return Clients(idp=Client(), portal=portal)


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.name)
def test_every_request_in_the_guide_answers_as_shown(guide: Path, clients: Clients) -> None:
    """Send the guide's requests in order; each answers the status and excerpt shown."""
    bound: Bindings = {}
    for request, expected in exchanges(guide):
        response = send(clients, request, bound)
        bound.update(check(response, expected, bound, request))


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.name)
def test_guides_show_requests_only_as_checked_http_blocks(guide: Path) -> None:
    """A request shown any other way (a bare JSON block, a curl line) would go unchecked."""
    text = guide.read_text()
    assert exchanges(guide), f"{guide.name} shows no request"
    assert "```json" not in text, f"{guide.name}: show JSON inside an http request or response"
    assert "curl " not in text, f"{guide.name}: show requests as http blocks, not curl"


def test_the_readme_links_every_guide() -> None:
    readme = (ROOT / "README.md").read_text()
    for guide in GUIDES:
        link = guide.relative_to(ROOT).as_posix()
        assert f"]({link})" in readme, f"README.md does not link {link}"
