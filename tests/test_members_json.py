"""A group's ``members`` as JSON text: PostgreSQL builds it, byte for byte as Python would."""

from __future__ import annotations

import json

import pytest

from axon_scim.models import ScimGroup, ScimMembership, ScimUser
from axon_scim.rendering import GroupRenderer

BASE = "https://example.com/scim/v2"


@pytest.mark.django_db
def test_members_json_is_the_members_compactly_written(org):
    group = ScimGroup.objects.create(organization=org, display_name="Parent")
    child = ScimGroup.objects.create(organization=org, display_name='Kids \u00e9 "q" \\')
    names = ['Zoë "Z" \\ O\'Neil\t/', "", "plain", "\u2028 line \u007f"]
    for n, name in enumerate(names):
        user = ScimUser.objects.create(organization=org, user_name=f"u{n}", display_name=name)
        ScimMembership.objects.create(organization=org, group=group, user=user)
    ScimMembership.objects.create(organization=org, group=group, member_group=child)
    renderer = GroupRenderer(BASE, org.pk)
    members = renderer.members_of([group.pk])[group.pk]
    text = renderer.members_json(group.pk)
    assert text == json.dumps(members, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(text) == members and len(members) == 5
    assert renderer.members_json(child.pk) == "[]"
