"""Hypothesis strategies for SCIM input, friendly and hostile, and the budget of each property test.

The property tests (``tests/protocol/test_properties.py``,
``tests/test_filter_agreement.py``, ``tests/test_never_500.py``) draw from
here: filter and path trees over made-up and real attribute names, JSON
values holding NUL, lone surrogates, control characters, huge numbers and
deep nesting, and request bodies built from them.

``HYPOTHESIS_PROFILE=long`` runs twenty times as many examples (minutes,
not seconds), for a deeper search before a release.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from axon_scim.protocol import constants as c
from axon_scim.protocol.filter import (
    COMPARE_OPS,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    format_patch_path,
    format_value,
)
from axon_scim.protocol.schemas import COMPLEX, GROUP_RESOURCE, USER_RESOURCE, ResourceType

SCALE = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1


def budget(examples: int) -> settings:
    """Settings for a property test of ``examples`` examples (times 20 in the long profile)."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
            HealthCheck.filter_too_much,
        ],
    )


# --- text ---------------------------------------------------------------------------------

# What no attribute may hold, and what stresses a parser or a database.
NASTY = ["\x00", "\ud800", "\udfff", "\x1b", "\n", '"', "\\", "'", "%", "_", "\u2028", "\ufeff"]

valid_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
"""Any text an attribute may hold: every Unicode scalar value but NUL."""

hostile_text = st.one_of(
    st.text(max_size=20),
    st.text(st.sampled_from([*NASTY, "a", "A", " ", "é"]), max_size=20),
    st.builds(
        lambda char, n: char * n,
        st.sampled_from(["a", "\x00", "é", "\ud800"]),
        st.integers(0, 70000),
    ),
)
"""Text as an attacker would send it: any code point, lone surrogates and NUL included,
and now and then very long."""

# --- filters and paths --------------------------------------------------------------------

# Keywords make fine attribute names too: ``not pr`` tests an attribute called "not".
KEYWORDS = ["and", "or", "not", "pr", "true", "false", "null", *COMPARE_OPS]
names = st.one_of(
    st.from_regex(r"[A-Za-z$][A-Za-z0-9_$-]{0,8}", fullmatch=True),
    st.sampled_from(KEYWORDS).map(str.upper) | st.sampled_from(KEYWORDS),
)
urns = st.one_of(
    st.none(),
    st.sampled_from([c.USER_SCHEMA, c.ENTERPRISE_USER_SCHEMA, c.GROUP_SCHEMA]),
    st.from_regex(r"urn:[a-z][a-z0-9.-]{0,6}(:[a-z0-9.-]{1,6}){0,3}", fullmatch=True),
)
comp_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
)
"""Every ``compValue`` the parser can produce (NUL is refused)."""


def leaves(paths: st.SearchStrategy[AttrPath], values: st.SearchStrategy[Any]) -> Any:
    ops = st.sampled_from(COMPARE_OPS)
    return st.one_of(st.builds(Compare, paths, ops, values), st.builds(Present, paths))


def trees(leaf: st.SearchStrategy[Filter], max_leaves: int = 10) -> st.SearchStrategy[Filter]:
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.builds(And, kids, kids), st.builds(Or, kids, kids), st.builds(Not, kids)
        ),
        max_leaves=max_leaves,
    )


inner_filters = trees(leaves(st.builds(AttrPath, st.none(), names), comp_values), 6)
filters = trees(
    st.one_of(
        leaves(st.builds(AttrPath, urns, names, st.one_of(st.none(), names)), comp_values),
        st.builds(ValuePath, st.builds(AttrPath, urns, names), inner_filters),
    )
)
"""Any tree the filter parser can produce, over made-up names."""

patch_paths = st.one_of(
    st.builds(PatchPath, st.builds(AttrPath, urns, names, st.one_of(st.none(), names))),
    st.builds(
        PatchPath,
        st.builds(AttrPath, urns, names),
        inner_filters,
        st.one_of(st.none(), names),
    ),
    st.builds(
        PatchPath, st.builds(AttrPath, st.sampled_from([c.ENTERPRISE_USER_SCHEMA]), st.just(""))
    ),
)
"""Any PATCH path the path parser can produce."""


def attribute_names(resource: ResourceType) -> list[str]:
    """Every attribute and sub-attribute path of ``resource``, plain and URN-qualified."""
    out: list[str] = []
    for schema in resource.all_schemas():
        prefix = "" if schema is resource.schema else f"{schema.id}:"
        for attr in (*schema.attributes, *(resource.common if schema is resource.schema else ())):
            out.append(prefix + attr.name)
            out.extend(f"{prefix}{attr.name}.{sub.name}" for sub in attr.sub_attributes)
    return out


def real_filters(resource: ResourceType) -> st.SearchStrategy[str]:
    """Filter text over the resource's real attributes, some of it malformed."""
    paths = st.sampled_from(attribute_names(resource))
    values = st.one_of(
        comp_values,
        st.sampled_from(["2024-01-31T12:00:00Z", "0001-01-01T00:00:00+01:00", "User", "work"]),
    )

    def leaf(path: str, op: str, value: Any) -> str:
        return f"{path} pr" if op == "pr" else f"{path} {op} {format_value(value)}"

    leaf_text = st.builds(leaf, paths, st.sampled_from([*COMPARE_OPS, "pr"]), values)
    multi = [a.name for a in resource.schema.attributes if a.multi_valued and a.type == COMPLEX]
    value_path = st.builds(
        lambda name, inner: f"{name}[{inner}]",
        st.sampled_from(multi),
        st.builds(
            leaf,
            st.sampled_from(["value", "type", "primary", "display"]),
            st.sampled_from(COMPARE_OPS),
            values,
        ),
    )
    return (
        st.recursive(
            st.one_of(leaf_text, value_path),
            lambda kids: st.one_of(
                st.builds(lambda a, b: f"{a} and {b}", kids, kids),
                st.builds(lambda a, b: f"({a}) or {b}", kids, kids),
                st.builds(lambda a: f"not ({a})", kids),
            ),
            max_leaves=6,
        )
        | hostile_text
    )


# --- JSON bodies ---------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
    st.sampled_from(["", "true", "False", "work", "a@x.com", "2024-01-31T12:00:00Z"]),
)
json_values = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(
            st.one_of(hostile_text, st.sampled_from(["value", "type", "primary"])), kids, max_size=4
        ),
    ),
    max_leaves=12,
)
"""Any JSON value, with hostile strings, huge numbers and a little nesting."""


# A value nested ``n`` lists deep is written as a marker and expanded by ``wire_json``:
# json.dumps itself cannot write what is nested deeper than the recursion limit.
deep_values = st.integers(50, 3000).map(lambda depth: f"@@deep:{depth}@@")
_DEEP = re.compile(r'"@@deep:(\d+)@@"')


def wire_json(body: Any) -> str:
    """``body`` as JSON text, lone surrogates as escapes and deep markers expanded."""

    def nested(marker: re.Match[str]) -> str:
        depth = int(marker.group(1))
        return "[" * depth + "null" + "]" * depth

    return _DEEP.sub(nested, json.dumps(body))


def documents(resource: ResourceType) -> st.SearchStrategy[dict[str, Any]]:
    """Resource bodies: real attribute names (some URN-qualified) with any values."""
    keys = st.one_of(st.sampled_from(attribute_names(resource)), hostile_text)
    values = st.one_of(json_values, deep_values)
    base = {"schemas": [resource.schema.id]}
    required = {"userName": "fuzz@x.com"} if resource is USER_RESOURCE else {"displayName": "Fuzz"}
    return st.builds(
        lambda extra, keep: {**base, **(required if keep else {}), **extra},
        st.dictionaries(keys, values, max_size=5),
        st.booleans(),
    )


def patch_operations(resource: ResourceType) -> st.SearchStrategy[dict[str, Any]]:
    real = st.sampled_from(attribute_names(resource))
    valued_path = st.builds(
        lambda name, inner: f"{name}[{inner}]",
        st.sampled_from(["emails", "members", "phoneNumbers", "addresses"]),
        st.sampled_from(['type eq "work"', 'value eq "x"', "primary eq true", "value pr"]),
    )
    paths = st.one_of(
        st.none(), real, valued_path, patch_paths.map(format_patch_path), hostile_text
    )
    ops = st.sampled_from(["add", "remove", "replace", "Add", "REPLACE", "move", "", None, 7])
    return st.builds(
        lambda op, path, value, has_value: {
            "op": op,
            **({"path": path} if path is not None else {}),
            **({"value": value} if has_value else {}),
        },
        ops,
        paths,
        st.one_of(json_values, st.dictionaries(real, json_values, max_size=3)),
        st.booleans(),
    )


def patch_bodies(resource: ResourceType) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(
            lambda ops: {"schemas": [c.PATCH_OP], "Operations": ops},
            st.lists(patch_operations(resource), min_size=1, max_size=4),
        ),
        json_values,
    )


RESOURCES = {"Users": USER_RESOURCE, "Groups": GROUP_RESOURCE}
