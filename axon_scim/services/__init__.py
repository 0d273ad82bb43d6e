"""Every change to SCIM state, as one verb-named function per change.

Each function takes the organization and the actor, runs in one
transaction, writes its audit event in that same transaction and sends its
signal after commit. Views and commands call these; nothing else writes.

One module per resource, re-exported here so callers write
``services.create_user(...)``:

- ``users``: users, their deactivation and reactivation, their manager;
- ``groups``: groups and their memberships;
- ``tokens``: bearer tokens;
- ``roles``: roles, grants by hand and group-to-role mappings;
- ``sessions``: the organization a portal session acts for;
- ``custom_attributes``: an organization's own custom attribute definitions;
- ``custom_values``: storing custom attribute values (for users and groups);
- ``_common``: id parsing, row locks (and the lock order), length checks,
  unique-violation conflicts, signals after commit.
"""

from ..audit import Actor
from ._common import parse_id
from .custom_attributes import declare_custom_attribute, delete_custom_attribute
from .groups import create_group, delete_group, patch_group, replace_group
from .roles import grant_role, revoke_role, save_role, set_group_role
from .sessions import select_organization
from .tokens import issue_token, revoke_token
from .users import create_user, delete_user, patch_user, replace_user

__all__ = [
    "Actor",
    "create_group",
    "create_user",
    "declare_custom_attribute",
    "delete_custom_attribute",
    "delete_group",
    "delete_user",
    "grant_role",
    "issue_token",
    "parse_id",
    "patch_group",
    "patch_user",
    "replace_group",
    "replace_user",
    "revoke_role",
    "revoke_token",
    "save_role",
    "select_organization",
    "set_group_role",
]
