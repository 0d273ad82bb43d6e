"""App configuration of the hostile host's accounts."""

from django.apps import AppConfig


class HostileAccountsConfig(AppConfig):
    name = "tests.hostile.accounts"
    label = "hostile_accounts"
    default_auto_field = "django.db.models.AutoField"
