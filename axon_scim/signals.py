"""Signals for host projects, sent by the services after the change commits.

Connect receivers as usual::

    from axon_scim import signals

    @receiver(signals.user_deprovisioned)
    def end_api_sessions(sender, organization, scim_user, account, **kwargs): ...

``sender`` is always the ``ScimUser`` or ``ScimGroup`` class concerned (``Role``
for the role signals). Every signal also receives ``organization`` and
``actor`` (``axon_scim.services.Actor``: the token or portal user, with the
request id, IP and user agent). A signal is sent only once the transaction
has committed, so a receiver never sees a change that was rolled back.
"""

from django.dispatch import Signal

# A SCIM user was created. Arguments: organization, actor, scim_user, account.
user_provisioned = Signal()

# A SCIM user was deactivated (active: false) or deleted; the account can no
# longer sign in. Arguments: organization, actor, scim_user, account, deleted (bool).
user_deprovisioned = Signal()

# A deactivated SCIM user was made active again. Arguments: organization,
# actor, scim_user, account.
user_reactivated = Signal()

# Members were added to or removed from a group. Arguments: organization,
# actor, group, added (list of member ids, str), removed (list of member ids,
# str; for a cleared group, every former member).
group_membership_changed = Signal()

# An account gained a role that it did not hold before. Arguments:
# organization, actor, role, account_id (the portal account's pk: a mapping
# change can touch 100,000 accounts, so they are not loaded), group (the
# ScimGroup granting it, or None for a grant by hand).
role_granted = Signal()

# An account lost a role: no group and no hand grant gives it any more.
# Arguments: organization, actor, role, account_id, group (the ScimGroup
# whose change caused it, or None).
role_revoked = Signal()
