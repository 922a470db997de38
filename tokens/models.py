"""SCIM API tokens. Only a digest of each token is stored."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from directory.models import ScimDirectory


class ScimToken(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    directory = models.ForeignKey(ScimDirectory, models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, blank=True)
    # The first characters of the plaintext, so admins can tell tokens apart.
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    last_used_user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AdminApiKey(models.Model):
    """A personal key for the admin REST API: it acts as its admin, in the orgs they
    administer, read-only or read-write. Only a digest is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"


class TokenIssueReplay(models.Model):
    """An Idempotency-Key already used to issue a SCIM token: a retry gets the same
    token back (without its plaintext, which is never stored) instead of a new one.

    A key is the admin's, for one org and one operation: the same key sent to another
    org (an admin of two) or for another operation is a new request."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    org = models.ForeignKey("directory.Org", models.CASCADE, related_name="+")
    operation = models.CharField(max_length=40, default="scim_token_issue")
    key = models.CharField(max_length=100)
    token = models.ForeignKey(ScimToken, models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "org", "operation", "key"], name="tokenissuereplay_unique"
            )
        ]

    def __str__(self) -> str:
        return self.key
