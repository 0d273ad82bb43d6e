"""Stock django-scim2 0.23 under benchmark: a user and a group model with its mixins.

Everything here is django-scim2's documented configuration (models with its
mixins, ``SCIM_SERVICE_PROVIDER`` getters): its views, adapters and filter
parser run unchanged. Bearer tokens are resolved by a small middleware,
because django-scim2 does no authentication of its own.
"""
