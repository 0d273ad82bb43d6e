"""The attribute tables of ``axon_scim.attributes`` agree with the protocol schemas.

Every attribute the schemas define is declared (so a filter or sortBy can
reach it), every declaration names an attribute the schemas define, spelled
as they spell it, and the filter targets derived from the tables compare
strings with the schemas' ``caseExact``. The checks are functions returning
what disagrees, and the last tests feed them tables that drift, so that they
are known to fail when they should. No database is needed.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from axon_scim import rendering
from axon_scim.attributes import (
    DECLARED,
    GROUP_ATTRIBUTES,
    USER_ATTRIBUTES,
    Column,
    Declaration,
    IdColumns,
    Memberships,
    filter_mapping,
    schema_attribute,
)
from axon_scim.models import ScimGroup, ScimMembership, ScimUser
from axon_scim.protocol.constants import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from axon_scim.protocol.schemas import (
    BINARY,
    COMPLEX,
    GROUP_RESOURCE,
    REFERENCE,
    RESOURCE_TYPES,
    STRING,
    USER_RESOURCE,
    Attribute,
    ResourceType,
)
from axon_scim.targets import EitherTarget, IdTarget, Mapping, StringTarget, Target

# Rendered from manager.value and not declared: a filter or sortBy that names it
# is told it "cannot be used in a filter", as before the table existed.
NOT_DECLARED = {(ENTERPRISE_USER_SCHEMA, "manager.$ref")}

Found = tuple[str, str, Attribute, Attribute | None]


def schema_paths(resource: ResourceType) -> Iterator[Found]:
    """(schema URN, path, attribute, sub-attribute) for everything the schemas define."""
    for schema in resource.all_schemas():
        common = resource.common if schema is resource.schema else ()
        for attr in (*schema.attributes, *common):
            yield schema.id, attr.name, attr, None
            for sub in attr.sub_attributes:
                yield schema.id, f"{attr.name}.{sub.name}", attr, sub


def target_of(mapping: Mapping, urn: str, attr: Attribute, sub: Attribute | None) -> Target | None:
    key = (urn.lower(), attr.name.lower())
    if attr.multi_valued:
        multi = mapping.multis.get(key)
        return multi.subs.get(sub.name.lower()) if multi and sub else None
    return mapping.singles.get((*key, sub.name.lower() if sub else ""))


def unknown(resource: ResourceType, declarations: Sequence[Declaration]) -> list[str]:
    """Declarations that name no attribute of the schemas, or spell it otherwise."""
    defined = {(urn, path) for urn, path, _, _ in schema_paths(resource)}
    return [f"{d.schema}:{d.path}" for d in declarations if (d.schema, d.path) not in defined]


def undeclared(resource: ResourceType, mapping: Mapping) -> list[str]:
    """Attributes of the schemas that a filter cannot reach through ``mapping``."""
    missing = []
    for urn, path, attr, sub in schema_paths(resource):
        if (urn, path) in NOT_DECLARED or (attr.type == COMPLEX and sub is None):
            if attr.multi_valued and (urn.lower(), attr.name.lower()) not in mapping.multis:
                missing.append(f"{urn}:{path}")
            continue
        if target_of(mapping, urn, attr, sub) is None:
            missing.append(f"{urn}:{path}")
    return missing


def case_flags(target: Target) -> list[bool]:
    """The caseExact a target compares with, for each column it compares."""
    if isinstance(target, StringTarget | IdTarget):
        return [target.case_exact]
    if isinstance(target, EitherTarget):
        return [flag for _, branch in target.branches for flag in case_flags(branch)]
    return []


def case_mismatches(resource: ResourceType, mapping: Mapping) -> list[str]:
    """Targets whose case-exactness is not the one their schema defines."""
    wrong = []
    for urn, path, attr, sub in schema_paths(resource):
        target = target_of(mapping, urn, attr, sub)
        expected = (sub or attr).case_exact
        if target is not None and any(flag != expected for flag in case_flags(target)):
            wrong.append(f"{urn}:{path}")
    return wrong


@pytest.mark.parametrize("resource", RESOURCE_TYPES, ids=lambda r: r.name)
def test_every_declaration_names_an_attribute_of_the_schemas(resource: ResourceType) -> None:
    assert unknown(resource, DECLARED[resource.name]) == []


@pytest.mark.parametrize("resource", RESOURCE_TYPES, ids=lambda r: r.name)
def test_every_attribute_of_the_schemas_is_declared(resource: ResourceType) -> None:
    assert undeclared(resource, filter_mapping(resource)) == []


@pytest.mark.parametrize("resource", RESOURCE_TYPES, ids=lambda r: r.name)
def test_case_exactness_is_the_schemas(resource: ResourceType) -> None:
    assert case_mismatches(resource, filter_mapping(resource)) == []


@pytest.mark.parametrize("resource", RESOURCE_TYPES, ids=lambda r: r.name)
def test_no_attribute_is_declared_twice(resource: ResourceType) -> None:
    declared = [(d.schema, d.path) for d in DECLARED[resource.name]]
    assert len(declared) == len(set(declared))


def test_columns_without_a_hook_are_the_strings_of_the_column_loop() -> None:
    looped = [
        *rendering.USER_COLUMNS.values(),
        *rendering.NAME_COLUMNS.values(),
        *rendering.ENTERPRISE_COLUMNS.values(),
    ]
    plain = [d for d in USER_ATTRIBUTES if isinstance(d, Column) and not d.hook]
    assert sorted(looped) == sorted(d.column for d in plain)
    for declared in plain:
        attr, sub = schema_attribute(USER_RESOURCE, declared)
        assert (sub or attr).type in (STRING, REFERENCE, BINARY), declared.path


def test_hooks_name_rendering_code() -> None:
    for declared in (*USER_ATTRIBUTES, *GROUP_ATTRIBUTES):
        if isinstance(declared, Column) and declared.hook:
            assert callable(operator.attrgetter(declared.hook)(rendering)), declared.hook


def test_declared_columns_are_fields_of_their_models() -> None:
    owners = {USER_RESOURCE.name: ScimUser, GROUP_RESOURCE.name: ScimGroup}
    for name, declarations in DECLARED.items():
        multi_valued = {d.path for d in declarations if isinstance(d, Memberships)}
        for declared in declarations:
            in_rows = declared.path.partition(".")[0] in multi_valued
            model = ScimMembership if in_rows else owners[name]
            if isinstance(declared, Column):
                columns = [declared.column, *([declared.lowered] if declared.lowered else [])]
            elif isinstance(declared, IdColumns):
                columns = [col for col in declared.columns if col != "pk"]
            else:
                continue
            for column in columns:
                # The field itself (or its ``_id`` attname), or the relation a lookup starts with.
                assert model._meta.get_field(column.split("__")[0]), (name, declared.path)


# The checks above, shown to fail on tables that drift from the schemas.


def test_a_misspelled_or_invented_attribute_is_reported() -> None:
    drifted = (
        *USER_ATTRIBUTES,
        Column(USER_SCHEMA, "nickname", "nick_name"),
        Column(USER_SCHEMA, "shoeSize", "shoe_size"),
    )
    assert unknown(USER_RESOURCE, drifted) == [
        f"{USER_SCHEMA}:nickname",
        f"{USER_SCHEMA}:shoeSize",
    ]


def test_a_missing_declaration_is_reported() -> None:
    mapping = filter_mapping(USER_RESOURCE)
    singles = dict(mapping.singles)
    del singles[(USER_SCHEMA.lower(), "title", "")]
    multis = dict(mapping.multis)
    del multis[(USER_SCHEMA.lower(), "ims")]
    drifted = replace(mapping, singles=singles, multis=multis)
    assert undeclared(USER_RESOURCE, drifted) == [
        f"{USER_SCHEMA}:title",
        f"{USER_SCHEMA}:ims",
        f"{USER_SCHEMA}:ims.value",
        f"{USER_SCHEMA}:ims.display",
        f"{USER_SCHEMA}:ims.type",
        f"{USER_SCHEMA}:ims.primary",
    ]


def test_a_case_exactness_other_than_the_schemas_is_reported() -> None:
    mapping = filter_mapping(GROUP_RESOURCE)
    key = (GROUP_RESOURCE.schema.id.lower(), "externalid", "")
    drifted = replace(
        mapping, singles={**mapping.singles, key: StringTarget("external_id", nullable=True)}
    )
    assert case_mismatches(GROUP_RESOURCE, drifted) == [f"{GROUP_RESOURCE.schema.id}:externalId"]
