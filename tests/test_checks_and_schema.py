"""System checks, and the schema invariants that let the tables be distributed by organization."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models

from axon_scim.checks import check_settings
from axon_scim.models import Organization


def ids(errors) -> list[str]:
    return [error.id for error in errors]


def test_default_configuration_passes():
    assert check_settings() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"NOPE": 1}, ["axon_scim.E005"]),
        ({"MAX_PAGE_SIZE": 0}, ["axon_scim.E006"]),
        ({"DEFAULT_PAGE_SIZE": "10"}, ["axon_scim.E006"]),
        ({"ADAPTER": "nowhere.Adapter"}, ["axon_scim.E007"]),
        ([], ["axon_scim.E004"]),
    ],
)
def test_bad_settings_are_reported(settings, value, expected):
    settings.AXON_SCIM = value
    assert ids(check_settings()) == expected


def test_guardian_backend_is_required(settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert ids(check_settings()) == ["axon_scim.E003"]


def tenant_models() -> list[type[models.Model]]:
    return [m for m in apps.get_app_config("axon_scim").get_models() if m is not Organization]


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m.__name__)
def test_every_tenant_table_leads_with_organization(model):
    """Citus-ready: tenant tables carry organization; non-global keys and indexes lead with it."""
    assert model._meta.get_field("organization").related_model is Organization
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            assert constraint.fields[0] == "organization", constraint.name
    for index in model._meta.indexes:
        # Indexes on a foreign key to a tenant row are already scoped by that row.
        first = index.fields[0]
        field = model._meta.get_field(first)
        assert first == "organization" or field.is_relation, index.name
    global_unique = [f.name for f in model._meta.fields if f.unique and not f.primary_key]
    # Token hashes are looked up before the organization is known, and portal
    # accounts belong to the host's own (global) user table: both stay global.
    assert set(global_unique) <= {"secret_hash", "account"}, global_unique
