"""App configuration of axon_scim."""

from importlib.util import find_spec

from django.apps import AppConfig


class AxonScimConfig(AppConfig):
    name = "axon_scim"
    verbose_name = "SCIM provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        if find_spec("drf_spectacular") is not None:
            # Registers the portal API's description with drf-spectacular, so that a
            # host generating its own document describes the portal endpoints too.
            from .portal_api import openapi  # noqa: F401
