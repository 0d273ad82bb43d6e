"""The tree of a parsed filter or PATCH path: plain, frozen data.

The parser builds it, the in-memory evaluator and the ORM compiler
(axon_scim.querying) walk it. Attribute names keep the case they were written
in; ``semantics.resolve`` checks them against a schema.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COMPARE_OPS",
    "STRING_OPS",
    "And",
    "AttrPath",
    "CompValue",
    "Compare",
    "Filter",
    "Not",
    "Or",
    "PatchPath",
    "Present",
    "ValuePath",
    "operands",
]

CompValue = str | bool | int | float | None
"""A ``compValue`` of RFC 7644 section 3.4.2.2: a JSON string, boolean, number or null."""

COMPARE_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
"""The comparison operators a ``Compare.op`` can hold, lower-case."""

STRING_OPS = ("co", "sw", "ew")
"""The operators that only make sense between strings."""


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
    value: CompValue


@dataclass(frozen=True)
class Present:
    """``attrPath pr``."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    """``left and right``: both hold."""

    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    """``left or right``: either holds."""

    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    """``not (expr)``: ``expr`` does not hold."""

    expr: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attrPath "[" valFilter "]"``: some value of a multi-valued attribute matches.

    The paths inside ``filter`` name sub-attributes of ``path`` (``urn`` None,
    ``sub`` None).
    """

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath
"""Any node of a parsed ``filter``."""


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


def operands(expr: Filter, kind: type[And] | type[Or]) -> list[Filter]:
    """The operands of a chain of one connective, flattened without recursion."""
    out: list[Filter] = []
    stack: list[Filter] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, kind):
            stack.append(node.right)
            stack.append(node.left)
        else:
            out.append(node)
    return out
