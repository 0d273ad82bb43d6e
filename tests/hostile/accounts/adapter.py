"""The hostile host's SCIM adapter: what a portal with an email-keyed user model writes.

The default adapter fills ``first_name``, ``last_name`` and ``email`` and
names accounts ``<org slug>:<userName>`` in ``USERNAME_FIELD``; this model
has a ``full_name`` and signs in by email, so both methods are overridden.
"""

from __future__ import annotations

from typing import Any

from axon_scim.adapter import AccountAdapter
from axon_scim.models import ScimUser


class EmailAccountAdapter(AccountAdapter):
    """Accounts named ``<local>+<org slug>@<domain>`` after the SCIM userName.

    The organization's slug keeps the name unique across organizations, as
    userNames are unique only within one.
    """

    def account_username(self, scim_user: ScimUser) -> str:
        local, _, domain = scim_user.user_name_lower.partition("@")
        return f"{local}+{scim_user.organization.slug}@{domain or 'scim.invalid'}"

    def account_fields(self, scim_user: ScimUser, primary_email: str) -> dict[str, Any]:
        return {"full_name": f"{scim_user.name_given} {scim_user.name_family}".strip()[:200]}
