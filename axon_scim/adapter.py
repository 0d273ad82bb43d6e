"""The one class a host project overrides to map SCIM users onto its own accounts.

Point ``AXON_SCIM["ADAPTER"]`` at a subclass of ``AccountAdapter`` to choose
how portal accounts are named, created, updated, disabled and enabled. The
services call it inside their transaction, so a failure here rolls back the
whole SCIM write.
"""

from __future__ import annotations

import hashlib
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.utils.timezone import now

from .conf import scim_settings

if TYPE_CHECKING:
    from .models import Organization, ScimUser


SESSION_ORGANIZATION_KEY = "axon_scim_organization"


class OrganizationAdapterMixin:
    """Which organization a portal session acts for."""

    def session_organization(self, request: Any) -> Organization | None:
        """The organization of the signed-in portal session, or None.

        Read from the session (``SESSION_ORGANIZATION_KEY``, set by the host
        when the user picks an organization); never from a header, a query
        parameter or a body. A user with ``sso:configure`` on exactly one
        organization acts for that one, and it is remembered in the session.
        """
        from guardian.shortcuts import get_objects_for_user

        from .models import Organization

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        pk = request.session.get(SESSION_ORGANIZATION_KEY)
        if pk is not None:
            return Organization.objects.filter(pk=pk).first()
        candidates = list(
            get_objects_for_user(
                user, "axon_scim.configure_sso", Organization, with_superuser=False
            )[:2]
        )
        if len(candidates) != 1:
            return None
        request.session[SESSION_ORGANIZATION_KEY] = candidates[0].pk
        return candidates[0]

    def select_session_organization(self, request: Any, organization: Organization) -> None:
        """Make the signed-in portal session act for ``organization`` from now on.

        Called by ``PUT /api/v1/scim/session-organization`` once the user is
        known to hold ``sso:configure`` on it, inside the audited transaction:
        if this raises, the selection is not recorded. A host that keeps its
        current organization elsewhere overrides this together with
        ``session_organization`` (or raises ``PermissionDenied`` to refuse).
        """
        request.session[SESSION_ORGANIZATION_KEY] = organization.pk


class AccountAdapter(OrganizationAdapterMixin):
    """Default mapping: one Django account per SCIM user, named ``<org slug>:<userName>``.

    The name goes in the user model's ``USERNAME_FIELD``; ``account_fields``
    fills ``first_name``, ``last_name`` and ``email``, as Django's own user
    model has them. For another user model, override those two methods (a
    system check warns when the model lacks the default fields).
    """

    def account_username(self, scim_user: ScimUser) -> str:
        """A globally unique username, since slugs and per-organization userNames are unique."""
        name = f"{scim_user.organization.slug}:{scim_user.user_name_lower}"
        if len(name) <= 150:
            return name
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        return f"{name[:133]}~{digest}"

    def account_fields(self, scim_user: ScimUser, primary_email: str) -> dict[str, Any]:
        """The account fields that follow the SCIM user."""
        return {
            "first_name": scim_user.name_given[:150],
            "last_name": scim_user.name_family[:150],
            "email": primary_email[:254],
        }

    def create_account(
        self, scim_user: ScimUser, *, primary_email: str, password: str | None
    ) -> Any:
        """Create the portal account of a newly provisioned user and return it."""
        user_model = get_user_model()
        account = user_model(
            **{
                **self.account_fields(scim_user, primary_email),
                user_model.USERNAME_FIELD: self.account_username(scim_user),
                "is_active": scim_user.active is not False,
            }
        )
        if password is not None and scim_settings.STORE_PASSWORD:
            account.set_password(password)
        else:
            account.set_unusable_password()  # signs in through SSO
        account.save()
        return account

    def update_account(
        self, account: Any, scim_user: ScimUser, *, primary_email: str, password: str | None
    ) -> None:
        """Bring the account in line with the SCIM user; activation follows ``active``.

        Only fields that really change are saved. A password is set only when
        the host stores SCIM passwords: setting any other would change the
        password hash, and with it end every open session of the account.
        """
        wanted = {
            **self.account_fields(scim_user, primary_email),
            get_user_model().USERNAME_FIELD: self.account_username(scim_user),
        }
        if scim_user.active is not None:  # unassigned: the account keeps its state
            wanted["is_active"] = scim_user.active
        changed = [name for name, value in wanted.items() if getattr(account, name) != value]
        for name in changed:
            setattr(account, name, wanted[name])
        if password is not None and scim_settings.STORE_PASSWORD:
            account.set_password(password)
            changed.append("password")
        if changed:
            account.save(update_fields=changed)

    def apply_extension_values(
        self, account: Any, scim_user: ScimUser, values: dict[str, dict[str, Any]]
    ) -> None:
        """Map the user's custom attributes onto the account; by default nothing is kept there.

        Called after ``create_account`` or ``update_account`` whenever the
        user's resource type has custom (host- or organization-declared)
        attributes. ``values`` holds them by schema URN, absent ones left out:

        Example::

            def apply_extension_values(self, account, scim_user, values):
                acme = values.get("urn:example:params:scim:schemas:extension:acme:2.0:User", {})
                account.profile.cost_center = acme.get("costCenter", "")
                account.profile.save()
        """

    def deactivate_account(self, account: Any) -> None:
        """Stop the account from signing in and end its open sessions."""
        if account.is_active:
            account.is_active = False
            account.save(update_fields=["is_active"])
        self.end_sessions(account)

    def end_sessions(self, account: Any) -> None:
        """End every open session of the account, for good (reactivation does not revive them).

        Django ties each session to the account's password hash and checks it
        on every request. An account without a usable password (SCIM accounts
        sign in through SSO) gets a fresh unusable one, which ends its
        sessions whatever the session backend. With a usable password, the
        database-backed sessions of the account are deleted.
        """
        if not account.has_usable_password():
            account.set_unusable_password()
            account.save(update_fields=["password"])
            return
        if settings.SESSION_ENGINE not in (
            "django.contrib.sessions.backends.db",
            "django.contrib.sessions.backends.cached_db",
        ):
            return  # other stores cannot be searched; the inactive account is refused anyway
        from django.contrib.sessions.models import Session

        store = import_module(settings.SESSION_ENGINE).SessionStore
        for session in Session.objects.filter(expire_date__gt=now()).iterator():
            if session.get_decoded().get(SESSION_KEY) == str(account.pk):
                store(session.session_key).delete()

    def retire_account(self, account: Any, scim_user: ScimUser) -> None:
        """Disable the account of a deleted SCIM user and free its username for a new one.

        The account is kept (the audit log and the portal's own records may
        point at it) but renamed, so the same userName can be provisioned again.
        """
        self.deactivate_account(account)
        name_field = account._meta.get_field(get_user_model().USERNAME_FIELD)
        renamed = f"deleted:{scim_user.pk}:{account.get_username()}"
        setattr(account, name_field.name, renamed[: name_field.max_length or 150])
        account.save(update_fields=[name_field.name])


def get_adapter() -> AccountAdapter:
    """The configured adapter instance."""
    return scim_settings.ADAPTER()
