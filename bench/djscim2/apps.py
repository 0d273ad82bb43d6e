"""App config of the django-scim2 comparison models."""

from django.apps import AppConfig


class DjScim2BenchConfig(AppConfig):
    name = "bench.djscim2"
    label = "bench_djscim2"
    default_auto_field = "django.db.models.BigAutoField"
