"""A small HTTP client over urllib for tests against a real server: cookies, CSRF, JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.message import Message
from http.cookiejar import CookieJar
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class Reply:
    """A response: status, headers and body."""

    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """One client with its own cookies; unsafe requests carry Django's CSRF token."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.headers = headers or {}
        self.cookies = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.cookies))

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request (JSON ``body`` or urlencoded ``form``); 4xx and 5xx are replies too."""
        sent = {**self.headers, **(headers or {})}
        data = None
        if form is not None:
            data = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        csrf = self.cookie("csrftoken")
        if csrf and method not in SAFE_METHODS:
            sent["X-CSRFToken"] = csrf
        request = Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with self.opener.open(request, timeout=30) as response:
                return Reply(response.status, response.headers, response.read())
        except HTTPError as error:
            return Reply(error.code, error.headers, error.read())

    def sign_in(self, path: str, username: str, password: str, *, then: str) -> None:
        """Sign in through a Django login form, as a browser does, and land on ``then``."""
        page = self.call("GET", path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert found, page.text
        fields = {"csrfmiddlewaretoken": found.group(1), "username": username, "next": then}
        reply = self.call("POST", path, form={**fields, "password": password})
        assert reply.status == 200 and self.cookie("sessionid"), reply.text
