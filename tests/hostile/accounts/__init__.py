"""The hostile host's accounts: sign-in by email, UUID primary keys, its own SCIM adapter."""
