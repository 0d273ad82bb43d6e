"""System checks of axon_scim (ids axon_scim.E001 ...)."""
