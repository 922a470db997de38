"""Webhook endpoints of an org, their signing secrets and the log of their deliveries.

What is delivered is the org's change feed (directory.models.ChangeEvent): each
endpoint reads it from its own cursor, in order (webhooks.services.delivery)."""

from __future__ import annotations

import uuid

from django.db import models

from directory.encryption import EncryptedTextField
from directory.models import ChangeEvent, Org


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Org, models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # The event types wanted (ChangeEvent.Type values); empty: all of them.
    event_types: models.JSONField[list[str], list[str]] = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Where it is in the org's change feed: the last change delivered (or skipped).
    cursor_txid = models.BigIntegerField(default=0)
    cursor_id = models.BigIntegerField(default=0)
    # While the change at the cursor fails: since when, how many attempts, and when
    # to try next (None: now).
    failing_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A delivery run holds the endpoint until then, so two never send at once.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Moved on by every replay: a run that started before one stops instead of moving
    # the cursor past what the replay asked to send again.
    replays = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    def wants(self, type: str) -> bool:
        return not self.event_types or type in self.event_types


class WebhookSecret(models.Model):
    """A signing secret (whsec_…). Two may be active during a rotation: deliveries are
    signed with each, and receivers accept either."""

    id = models.BigAutoField(primary_key=True)
    endpoint = models.ForeignKey(WebhookEndpoint, models.CASCADE, related_name="secrets")
    secret = EncryptedTextField()
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    # An older secret stays valid until then, after a rotation.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.prefix}…"


class WebhookDelivery(models.Model):
    """One attempt to deliver one change to one endpoint."""

    id = models.BigAutoField(primary_key=True)
    endpoint = models.ForeignKey(WebhookEndpoint, models.CASCADE, related_name="deliveries")
    change = models.ForeignKey(ChangeEvent, models.CASCADE, related_name="+")
    attempt = models.PositiveIntegerField(default=1)
    attempted_at = models.DateTimeField(auto_now_add=True)
    succeeded = models.BooleanField(default=False)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["endpoint", "-attempted_at"], name="delivery_endpoint_time")
        ]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.status or self.error}"
