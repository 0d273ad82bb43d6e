"""RFC 7644 section 3.4.2.2 filters and section 3.5.2 PATCH paths.

CONTRACT (implemented by the filter work; other modules rely on these names):

    parse_filter(text: str) -> Filter            # raises InvalidFilterError
    parse_path(text: str) -> PatchPath           # raises InvalidPathError
    matches(expr: Filter, item: dict, attribute: Attribute | None) -> bool

The tree below is plain data. Attribute names keep the case they were
written in; resolving them against a schema (and rejecting unknown ones) is
the job of whoever consumes the tree, with the schema in hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Value = Union[str, bool, int, float, None]


@dataclass(frozen=True)
class AttrPath:
    """``[URN ":"] name ["." sub]``; inside a value filter the names are relative."""

    urn: str | None
    name: str
    sub: str | None = None


@dataclass(frozen=True)
class Compare:
    """``attrPath compareOp compValue``; ``op`` is lower-case (eq ne co sw ew gt ge lt le)."""

    path: AttrPath
    op: str
    value: Value


@dataclass(frozen=True)
class Present:
    """``attrPath pr``."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    expr: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attrPath "[" valFilter "]"``: some value of a multi-valued attribute matches.

    The paths inside ``filter`` name sub-attributes of ``path`` (``urn`` None,
    ``sub`` None).
    """

    path: AttrPath
    filter: Filter


Filter = Union[Compare, Present, And, Or, Not, ValuePath]


@dataclass(frozen=True)
class PatchPath:
    """A PATCH ``path``: ``attrPath`` or ``valuePath ["." subAttr]``.

    ``emails[type eq "work"].value`` is ``PatchPath(AttrPath(None, "emails"),
    filter=..., sub="value")``; ``name.givenName`` is
    ``PatchPath(AttrPath(None, "name", "givenName"))``.
    """

    attr: AttrPath
    filter: Filter | None = None
    sub: str | None = None
