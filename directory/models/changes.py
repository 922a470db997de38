"""The change feed: one ChangeEvent per change of an org's directory, for webhooks and
for `GET /api/v1/orgs/<slug>/changes/`."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from directory.models.orgs import Org


class ChangeEvent(models.Model):
    """A change of the directory, written in the transaction of the change itself
    (directory.services.changes), with the resource's state after it.

    Consumers read them in (`txid`, `id`) order: `txid` is the writing transaction's id
    on Postgres (0 on SQLite, whose writers take turns), so the feed can hold back rows
    of transactions still running (directory.change_feed) and never hand out a cursor
    that a later commit would land behind."""

    class Type(models.TextChoices):
        USER_CREATED = "user.created"
        USER_UPDATED = "user.updated"
        USER_DEACTIVATED = "user.deactivated"
        USER_REACTIVATED = "user.reactivated"
        USER_DELETED = "user.deleted"
        GROUP_CREATED = "group.created"
        GROUP_UPDATED = "group.updated"
        GROUP_DELETED = "group.deleted"
        GROUP_MEMBERS_ADDED = "group.members_added"
        GROUP_MEMBERS_REMOVED = "group.members_removed"
        SEAT_ASSIGNED = "seat.assigned"
        SEAT_FREED = "seat.freed"
        ACCESS_GRANTED = "access.granted"
        ACCESS_DENIED = "access.denied"
        DIRECTORY_ENABLED = "directory.enabled"
        DIRECTORY_DISABLED = "directory.disabled"
        DIRECTORY_DELETED = "directory.deleted"
        SIGNIN_SUCCEEDED = "signin.succeeded"
        SIGNIN_FAILED = "signin.failed"

    id = models.BigAutoField(primary_key=True)
    # Stable across retries and replays: a delivery's webhook-id is msg_<uid hex>.
    uid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    org = models.ForeignKey(Org, models.CASCADE, related_name="changes", db_index=False)
    txid = models.BigIntegerField(db_default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    type = models.CharField(max_length=32, choices=Type.choices)
    resource_type = models.CharField(max_length=10, blank=True)
    resource_id = models.UUIDField(null=True, blank=True)
    data: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["org", "txid", "id"], name="change_org_order"),
            models.Index(fields=["org", "created_at"], name="change_org_created"),
            models.Index(
                fields=["org", "resource_id"],
                condition=models.Q(resource_id__isnull=False),
                name="change_org_resource",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.type} {self.resource_id or ''}"
