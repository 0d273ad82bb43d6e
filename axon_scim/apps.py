"""App configuration of axon_scim."""

from django.apps import AppConfig


class AxonScimConfig(AppConfig):
    name = "axon_scim"
    verbose_name = "SCIM provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
