"""What the demo portal keeps of its own: the logins that ``seed_demo`` created."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class DemoLogin(models.Model):
    """A login that ``seed_demo`` created, and so may reset; it never touches any other account."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"demo login {self.account_id}"
