"""Rate limits: per SCIM token on ``/scim/v2``, per signed-in user on the portal API.

``AXON_SCIM["RATE_LIMIT"]`` and ``AXON_SCIM["PORTAL_RATE_LIMIT"]`` are DRF
rate strings (``"600/min"``: a count, a slash and a period starting with
``s``, ``m``, ``h`` or ``d``); None, the default, turns a limit off.

Requests are counted in Django's cache (the ``RATE_LIMIT_CACHE`` alias) in
fixed windows: one counter per token or user and window, raised with the
cache's ``incr``. That is atomic on Redis, Memcached and the local-memory
cache, so parallel requests (the way IdPs send them) are all counted. A
deployment of several processes needs a cache they share; with a per-process
cache each process counts on its own.

Over the limit, DRF raises ``Throttled`` and the views' exception handlers
answer 429 with ``Retry-After``: the seconds until the window ends, which
Okta and Entra ID wait before they retry. A throttled token or user gets an
audit event (``token.throttled``, ``portal.throttled``) for its first 429 in
a window, counting windows of a minute at least: repeated throttling shows in
the log and on the token's admin page, and a client hammering the API cannot
flood the log with one event per refused request.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, ClassVar

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .audit import record_event, request_actor
from .conf import scim_settings
from .models import ScimToken
from .permissions import session_organization

logger = logging.getLogger(__name__)

__all__ = ["PortalUserRateThrottle", "RateThrottle", "ScimTokenRateThrottle", "parse_rate"]

# Seconds per window, by the first letter of a rate's period.
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The shortest window, in seconds, with an audit event of a throttled token or user.
AUDIT_INTERVAL = 60


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` as ``(600, 60)``: the requests allowed and the window in seconds.

    Raises ``ValueError`` for anything else; the system checks report it at start-up.
    """
    count, _, period = rate.partition("/")
    if not (count.isascii() and count.isdigit() and int(count) > 0) or period[:1] not in PERIODS:
        raise ValueError(f"{rate!r} is not a rate such as '600/min'.")
    return int(count), PERIODS[period[0]]


class RateThrottle(BaseThrottle):
    """A fixed-window request counter in Django's cache.

    Subclasses say whose requests are counted (``ident``), at which rate, and
    how a throttled request is audited (``record``).
    """

    scope: ClassVar[str]
    # The clock; a test may stop it.
    timer = staticmethod(time.time)

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def rate(self) -> str | None:
        raise NotImplementedError

    def ident(self, request: Request) -> str | None:
        """Whose request this is; None for requests that are not counted."""
        raise NotImplementedError

    def record(self, request: Request, rate: str, retry_after: int) -> None:
        """Audit that this request was throttled."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        rate, ident = self.rate(), self.ident(request)
        if rate is None or ident is None:
            return True
        limit, duration = parse_rate(rate)
        cache = caches[scim_settings.RATE_LIMIT_CACHE]
        moment = self.timer()
        window = int(moment // duration)
        key = f"axon_scim:rate:{self.scope}:{ident}:{window}"
        try:
            count = self._count(cache, key, duration)
        except Exception:  # any cache backend's own "unavailable" error
            # Fail open: an identity provider that got 500s would stop syncing, and a
            # missing limit is the lesser harm while the cache is down. Logged loudly.
            logger.warning("Rate-limit cache unavailable; request not counted", exc_info=True)
            return True
        if count <= limit:
            return True
        self.retry_after = (window + 1) * duration - moment
        # One audit event per window of at least AUDIT_INTERVAL: add() succeeds once per key.
        period = max(duration, AUDIT_INTERVAL)
        audit_key = f"axon_scim:throttled:{self.scope}:{ident}:{int(moment // period)}"
        if cache.add(audit_key, 1, period):
            self.record(request, rate, math.ceil(self.retry_after))
        return False

    @staticmethod
    def _count(cache: Any, key: str, duration: int) -> int:
        """This request's number in its window, counted with the cache's atomic ``incr``."""
        cache.add(key, 0, duration)
        try:
            return int(cache.incr(key))
        except ValueError:  # evicted since add(): this request starts the count again
            cache.set(key, 1, duration)
            return 1

    def wait(self) -> float | None:
        return self.retry_after


class ScimTokenRateThrottle(RateThrottle):
    """At most ``AXON_SCIM["RATE_LIMIT"]`` requests per SCIM token; discovery is not counted."""

    scope = "token"

    def rate(self) -> str | None:
        rate: str | None = scim_settings.RATE_LIMIT
        return rate

    def ident(self, request: Request) -> str | None:
        token = request.auth
        return str(token.pk) if isinstance(token, ScimToken) else None

    def record(self, request: Request, rate: str, retry_after: int) -> None:
        token = request.auth
        assert isinstance(token, ScimToken)
        record_event(
            token.organization,
            request_actor(request, token=token),
            "token.throttled",
            "Token",
            token.pk,
            after={"rateLimit": rate, "retryAfter": retry_after},
        )


class PortalUserRateThrottle(RateThrottle):
    """At most ``AXON_SCIM["PORTAL_RATE_LIMIT"]`` portal API requests per signed-in user."""

    scope = "portal"

    def rate(self) -> str | None:
        rate: str | None = scim_settings.PORTAL_RATE_LIMIT
        return rate

    def ident(self, request: Request) -> str | None:
        user = request.user
        return str(user.pk) if user is not None and user.is_authenticated else None

    def record(self, request: Request, rate: str, retry_after: int) -> None:
        # Throttles run after the permission gate, so the session has its organization.
        organization = session_organization(request)
        if organization is None:
            return
        record_event(
            organization,
            request_actor(request, user=request.user),
            "portal.throttled",
            "Account",
            request.user.pk,
            after={"rateLimit": rate, "retryAfter": retry_after},
        )
