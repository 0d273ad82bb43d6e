"""Tenant, user, group and token models shaped the way django-scim2 0.23 expects."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Organization(models.Model):
    """A tenant; django-scim2 scopes reads by it through its extra-filter getter."""

    slug = models.SlugField(unique=True)

    def __str__(self) -> str:
        return self.slug


class Group(AbstractSCIMGroupMixin):
    """A group; django-scim2's group adapter reads ``name`` and ``user_set``."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=255)

    def __str__(self) -> str:
        return self.name


class User(AbstractSCIMUserMixin, AbstractUser):
    """The portal account and SCIM user in one row, as django-scim2 models it.

    django-scim2's stock user adapter holds one email (``email``) and no
    enterprise attributes, so that is what the seeded rows carry.
    """

    organization = models.ForeignKey(Organization, null=True, on_delete=models.CASCADE)
    scim_groups = models.ManyToManyField(Group, related_name="user_set", blank=True)

    def __str__(self) -> str:
        return self.username


class Token(models.Model):
    """A bearer token of one organization's SCIM client account, stored as a hash."""

    secret_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE)

    def __str__(self) -> str:
        return self.secret_hash[:8]

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()
