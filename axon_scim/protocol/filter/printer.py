"""A parsed filter or PATCH path written back as text: the inverse of the parser.

``parse_filter(format_filter(tree)) == tree`` for every tree the parser can
produce, and likewise ``parse_path(format_patch_path(path)) == path``; a
property test holds both. Only the parentheses that precedence needs are
written: ``and`` binds tighter than ``or``, and both group to the left, as
the parser reads them (RFC 7644 section 3.4.2.2).
"""

from __future__ import annotations

import json

from .nodes import And, CompValue, Filter, Not, Or, PatchPath, Present, ValuePath
from .parser import format_path

__all__ = ["format_filter", "format_patch_path", "format_value"]


def format_filter(expr: Filter) -> str:
    """The text of ``expr``, which ``parse_filter`` reads back as the same tree.

    Example: ``format_filter(Or(a, And(b, c)))`` is ``"a or b and c"``, and
    ``format_filter(And(a, Or(b, c)))`` is ``"a and (b or c)"``.
    """
    if isinstance(expr, Or):
        first, *rest = _left_chain(expr, Or)
        return " or ".join([format_filter(first), *(_grouped(e, Or) for e in rest)])
    if isinstance(expr, And):
        first, *rest = _left_chain(expr, And)
        return " and ".join([_grouped(first, Or), *(_grouped(e, Or, And) for e in rest)])
    if isinstance(expr, Not):
        return f"not ({format_filter(expr.expr)})"
    if isinstance(expr, ValuePath):
        return f"{format_path(expr.path)}[{format_filter(expr.filter)}]"
    if isinstance(expr, Present):
        return f"{format_path(expr.path)} pr"
    return f"{format_path(expr.path)} {expr.op} {format_value(expr.value)}"


def format_patch_path(path: PatchPath) -> str:
    """The text of a PATCH ``path``, which ``parse_path`` reads back as the same path."""
    if not path.attr.name:  # a bare schema URN: the whole extension
        return str(path.attr.urn)
    text = format_path(path.attr)
    if path.filter is not None:
        text += f"[{format_filter(path.filter)}]"
    if path.sub is not None:
        text += f".{path.sub}"
    return text


def format_value(value: CompValue) -> str:
    """A ``compValue`` as JSON: a string literal, a number, true, false or null."""
    return json.dumps(value, ensure_ascii=False)


def _left_chain(expr: Filter, kind: type[And] | type[Or]) -> list[Filter]:
    """``((a op b) op c)`` as ``[a, b, c]``: the chain the parser builds from ``a op b op c``.

    Walked without recursion, so a chain of a thousand terms prints as easily as two.
    """
    rights: list[Filter] = []
    while isinstance(expr, kind):
        rights.append(expr.right)
        expr = expr.left
    return [expr, *reversed(rights)]


def _grouped(expr: Filter, *kinds: type[And] | type[Or]) -> str:
    """``expr`` in parentheses when it is one of ``kinds``, which would bind wrongly bare."""
    text = format_filter(expr)
    return f"({text})" if isinstance(expr, kinds) else text
