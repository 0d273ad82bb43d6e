"""Bearer tokens and tenant scoping for django-scim2, which does neither itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from .models import Token


class BearerTokenMiddleware:
    """Sets ``request.user`` from ``Authorization: Bearer``: one indexed lookup, as axon-scim."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("bearer "):
            token = (
                Token.objects.select_related("user")
                .filter(secret_hash=Token.hash_secret(header[7:].strip()))
                .first()
            )
            if token is not None:
                request.user = token.user
        return self.get_response(request)


def tenant_filter_getter(model: Any) -> Callable[..., dict[str, Any]]:
    """django-scim2's GET_EXTRA_MODEL_FILTER_KWARGS_GETTER: only the caller's organization."""

    def extra_filter_kwargs(request: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"organization_id": request.user.organization_id}

    return extra_filter_kwargs


def is_authenticated(user: Any) -> bool:
    """Only users with a token (set by ``BearerTokenMiddleware``) pass django-scim2's check."""
    return bool(getattr(user, "is_authenticated", False))
