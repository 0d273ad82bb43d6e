"""Code that reads or writes rows of several organizations on purpose, marked as such.

Every other query of axon_scim names one organization (``organization_id`` in
its WHERE, its joins or its INSERT), so a database distributed by organization
(Citus) routes it to one shard. The few places that need every organization's
rows (the verifiers, the admin's organization-wide lists) run inside
``cross_organization(reason)``; the test suite's query checker
(tests/tenancy.py) accepts an unscoped statement only there, and only for a
reason it names. See docs/scaling.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["AcrossOrganizationsAdmin", "cross_organization", "cross_organization_reason"]

_REASON: ContextVar[str | None] = ContextVar("axon_scim_cross_organization", default=None)


@contextmanager
def cross_organization(reason: str) -> Iterator[None]:
    """Mark the queries run inside as spanning organizations, for ``reason``.

    Costs nothing but a context variable; usable as a decorator too.
    """
    token = _REASON.set(reason)
    try:
        yield
    finally:
        _REASON.reset(token)


def cross_organization_reason() -> str | None:
    """The reason of the innermost ``cross_organization`` block running now, if any."""
    return _REASON.get()


class AcrossOrganizationsAdmin:
    """A ModelAdmin mixin: the admin lists and opens rows of every organization, on purpose.

    The Django admin is the operators' view of all organizations: its
    changelists span them, and its pages find a row by id alone. The page is
    rendered inside the block too, since its template runs queries (filters).
    """

    def changelist_view(self, *args: Any, **kwargs: Any) -> Any:
        return _across(super().changelist_view, *args, **kwargs)  # type: ignore[misc]

    def changeform_view(self, *args: Any, **kwargs: Any) -> Any:
        return _across(super().changeform_view, *args, **kwargs)  # type: ignore[misc]

    def delete_view(self, *args: Any, **kwargs: Any) -> Any:
        return _across(super().delete_view, *args, **kwargs)  # type: ignore[misc]

    def history_view(self, *args: Any, **kwargs: Any) -> Any:
        return _across(super().history_view, *args, **kwargs)  # type: ignore[misc]


def _across(view: Any, *args: Any, **kwargs: Any) -> Any:
    with cross_organization("django admin"):
        response = view(*args, **kwargs)
        if callable(getattr(response, "render", None)) and not response.is_rendered:
            response.render()
        return response
