"""An org's LDAP / Active Directory source and the record of its sync runs."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from directory.encryption import EncryptedTextField
from directory.models.orgs import Org


class LdapDirectory(models.Model):
    """Where an org's LDAP server is and what of it to sync (directory.services.ldap_sync).

    One per org. The bind password is encrypted at rest and never shown again. The
    attribute mapping is the preset's (directory.services.ldap_mapping.PRESETS) with the org's
    overrides in `attributes`."""

    class Preset(models.TextChoices):
        OPENLDAP = "openldap", "OpenLDAP"
        AD = "ad", "Active Directory"

    class Security(models.TextChoices):
        LDAPS = "ldaps", "ldaps:// (TLS from the start)"
        STARTTLS = "starttls", "ldap:// with StartTLS"
        NONE = "none", "ldap:// unencrypted (tests and local networks only)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.OneToOneField(Org, models.CASCADE, related_name="ldap")
    url = models.CharField(max_length=500)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.LDAPS)
    # PEM; empty: the system's trusted authorities.
    ca_certificate = models.TextField(blank=True)
    bind_dn = models.CharField(max_length=500)
    bind_password = EncryptedTextField(blank=True)
    user_base = models.CharField(max_length=500)
    user_filter = models.CharField(max_length=1000, blank=True)
    group_base = models.CharField(max_length=500, blank=True)
    group_filter = models.CharField(max_length=1000, blank=True)
    preset = models.CharField(max_length=10, choices=Preset.choices, default=Preset.OPENLDAP)
    # Overrides of the preset's mapping: {"user_name": "uid", "title": "", ...}.
    attributes: models.JSONField[dict[str, str], dict[str, str]] = models.JSONField(
        default=dict, blank=True
    )
    # Entries per page of a paged search (simple paged results control).
    page_size = models.PositiveIntegerField(default=500)
    # Synced by the hourly job while on; "Sync now" works either way.
    enabled = models.BooleanField(default=True)
    # Set while a run holds the directory (claimed by a conditional UPDATE), so two
    # runs never sync the same org at once; a claim older than an hour is stale.
    running_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "LDAP directories"

    def __str__(self) -> str:
        return f"{self.org} LDAP {self.url}"


class LdapSyncRun(models.Model):
    """One sync of an org's LDAP directory: when, how it ended, its totals."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Org, models.CASCADE, related_name="ldap_runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=20, blank=True)
    # {"users_seen", "created", "updated", "disabled", "deleted", "skipped", "failed",
    #  "groups_created", "groups_updated", "groups_deleted"}
    totals: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        default=dict, blank=True
    )
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["org", "-started_at"], name="ldaprun_org_started")]

    def __str__(self) -> str:
        return f"{self.org} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 2)
