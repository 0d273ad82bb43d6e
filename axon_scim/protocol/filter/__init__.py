"""RFC 7644 section 3.4.2.2 filters and section 3.5.2 PATCH paths.

The seam (every name below is public; nothing else is):

- ``nodes``: the tree, plain frozen data. ``AttrPath``, ``Compare``,
  ``Present``, ``And``, ``Or``, ``Not``, ``ValuePath`` (any of the last six is
  a ``Filter``), ``PatchPath``, ``CompValue``, the operator lists
  ``COMPARE_OPS`` and ``STRING_OPS``, and ``operands`` to flatten a chain of
  ``and`` or ``or``.
- ``parser``: ``parse_filter(text) -> Filter`` (raises InvalidFilterError),
  ``parse_path(text) -> PatchPath`` (InvalidPathError),
  ``parse_attr_path(text) -> AttrPath`` (sortBy, attributes; InvalidFilterError),
  ``format_path`` for messages, and the limits ``MAX_FILTER_LENGTH`` and
  ``MAX_DEPTH``.
- ``printer``: ``format_filter(tree) -> str`` and ``format_patch_path``, the
  parser's inverses (``parse_filter(format_filter(tree)) == tree``), and
  ``format_value`` for one ``compValue``.
- ``semantics``: ``resolve(path, resource) -> (Schema, Attribute, Attribute | None)``
  and the rules shared by the evaluator and the ORM compiler
  (``check_comparison``, ``is_null_test``, ``value_attribute``,
  ``as_boolean``, ``parse_datetime``); its docstring lists the decisions
  the RFC leaves open.
- ``evaluate``: ``matches(expr, item, attribute=None, *, resource=None) -> bool``.
- ``budget``: ``filter_cost(expr, resource=None) -> FilterCost`` (terms and
  subqueries) and ``check_filter_cost(expr, limits, resource=None)``, which
  raises TooManyError (400 tooMany) past the caller's ``FilterLimits``.

The tree is plain data. Attribute names keep the case they were written in;
resolving them against a schema (and rejecting unknown ones) is the job of
whoever consumes the tree, with the schema in hand: ``resolve`` does it for
them.
"""

from .budget import FilterCost, FilterLimits, check_filter_cost, filter_cost
from .evaluate import matches
from .nodes import (
    COMPARE_OPS,
    STRING_OPS,
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    operands,
)
from .parser import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    format_path,
    parse_attr_path,
    parse_filter,
    parse_path,
)
from .printer import format_filter, format_patch_path, format_value
from .semantics import (
    as_boolean,
    check_comparison,
    is_null_test,
    parse_datetime,
    resolve,
    value_attribute,
)

__all__ = [
    "COMPARE_OPS",
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "STRING_OPS",
    "And",
    "AttrPath",
    "CompValue",
    "Compare",
    "Filter",
    "FilterCost",
    "FilterLimits",
    "Not",
    "Or",
    "PatchPath",
    "Present",
    "ValuePath",
    "as_boolean",
    "check_comparison",
    "check_filter_cost",
    "filter_cost",
    "format_filter",
    "format_patch_path",
    "format_path",
    "format_value",
    "is_null_test",
    "matches",
    "operands",
    "parse_attr_path",
    "parse_datetime",
    "parse_filter",
    "parse_path",
    "resolve",
    "value_attribute",
]
