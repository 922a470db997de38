"""What happened: provisioning events, summary emails sent, the audit log and the
provisioning log of SCIM requests."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from directory.models.orgs import Org, ScimDirectory


class ProvisioningEvent(models.Model):
    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DISABLED = "disabled", "Disabled"

    class Action(models.TextChoices):
        USER_CREATE = "user_create", "Create user"
        USER_UPDATE = "user_update", "Update user"
        USER_DEACTIVATE = "user_deactivate", "Deactivate user"
        USER_REACTIVATE = "user_reactivate", "Reactivate user"
        USER_DELETE = "user_delete", "Delete user"
        GROUP_CREATE = "group_create", "Create group"
        GROUP_UPDATE = "group_update", "Update group"
        GROUP_DELETE = "group_delete", "Delete group"
        GROUP_MEMBERS = "group_members", "Change group members"
        SIGNIN = "signin", "Sign-in"
        REQUEST = "request", "Other request"

    id = models.BigAutoField(primary_key=True)
    # Indexed by event_org_created, which starts with it.
    org = models.ForeignKey(Org, models.CASCADE, related_name="events", db_index=False)
    directory = models.ForeignKey(
        ScimDirectory, models.SET_NULL, null=True, blank=True, related_name="events"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    resource_type = models.CharField(max_length=10, blank=True)
    resource_id = models.UUIDField(null=True, blank=True)
    resource_name = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    client = models.CharField(max_length=255, blank=True)
    details: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        default=dict, blank=True
    )
    # The provisioning log entry (ScimRequest.id) of the SCIM request that caused it; no
    # foreign key, since the entry is written after the event and pruned sooner.
    request_id = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "-created_at"], name="event_org_created"),
            models.Index(
                fields=["request_id"],
                condition=models.Q(request_id__isnull=False),
                name="event_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.outcome}"


class SummaryLog(models.Model):
    """One hourly summary of an org: claimed before sending, marked sent after."""

    org = models.ForeignKey(Org, models.CASCADE, related_name="summaries")
    hour = models.DateTimeField()
    claimed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    recipients = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "hour"], name="summarylog_unique_org_hour")
        ]

    def __str__(self) -> str:
        return f"{self.org} {self.hour:%Y-%m-%d %H:00}"


class AuditEvent(models.Model):
    """An admin's action on an org's settings or directory: who, when, from where, how."""

    class Via(models.TextChoices):
        CONSOLE = "console", "Console"
        API = "api", "API"
        CLI = "cli", "manage.py"
        SCIM = "scim", "SCIM"
        ADMIN = "admin", "Django admin"
        SIGNIN = "signin", "Sign-in"
        SYSTEM = "system", "Scheduled job"
        LDAP = "ldap", "LDAP sync"

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey(Org, models.CASCADE, related_name="audit_events")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=254)
    ip = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True)
    details: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        default=dict, blank=True
    )

    # What each action code means, in the words the console shows (the code stays the
    # API's and the search's).
    ACTIONS = {
        "idp.configure": "Saved the identity provider",
        "idp.jit": "Changed just-in-time creation",
        "org.access_groups": "Changed the access groups",
        "org.deprovision": "Changed the deprovisioning policy",
        "org.request_log": "Changed the provisioning log settings",
        "scim.enable": "Turned SCIM on",
        "scim.disable": "Turned SCIM off",
        "scim.delete": "Deleted the SCIM directory",
        "scim.name_rule": "Changed the name rule",
        "seat.assign": "Gave a seat",
        "seat.revoke": "Took a seat away",
        "token.issue": "Generated an API token",
        "token.revoke": "Revoked an API token",
        "user.delete": "Deleted a user permanently",
        "users.export": "Exported users",
        "org.admin_mfa": "Changed the second-factor requirement for admins",
        "admin.signin_password": "Admin signed in with a password",
        "admin.signin_mfa": "Admin passed the second factor",
        "admin.mfa_enrol": "Admin set up a second factor",
        "admin.mfa_reset": "Admin's second factor removed",
        "admin.mfa_recovery_code": "Admin used a recovery code",
    }

    class Meta:
        indexes = [models.Index(fields=["org", "-created_at"], name="audit_org_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action}"

    @property
    def action_words(self) -> str:
        """The action in words ("Generated an API token"), the code if it has none."""
        return self.ACTIONS.get(self.action, self.action)


class ScimRequest(models.Model):
    """One request to a directory's SCIM URL, as the provisioning log shows it: accepted,
    refused, throttled or unauthenticated. Written by the SCIM gate after the response
    (directory.services.scim_requests), bodies masked and capped there.

    `id` is chosen when the request arrives, so the events it causes can name it.
    `org` is empty for a URL that names no directory (operators only). Requests from an
    address under the failed-authentication throttle share one row per address and
    minute (`aggregated`), counted in `count`."""

    class Idp(models.TextChoices):
        OKTA = "okta", "Okta"
        ENTRA = "entra", "Entra ID"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by scimrequest_org_created, which starts with it.
    org = models.ForeignKey(
        Org, models.CASCADE, null=True, blank=True, related_name="scim_requests", db_index=False
    )
    directory = models.ForeignKey(
        ScimDirectory, models.SET_NULL, null=True, blank=True, related_name="requests"
    )
    # Indexed by scimrequest_org_created (and, for the rows of no org, by
    # scimrequest_unknown_created): a third index every entry pays for is not needed.
    created_at = models.DateTimeField()
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.CharField(max_length=2000, blank=True)
    status = models.PositiveSmallIntegerField()
    scim_type = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    idp = models.CharField(max_length=10, choices=Idp.choices, default=Idp.OTHER)
    token_name = models.CharField(max_length=100, blank=True)
    token_prefix = models.CharField(max_length=16, blank=True)
    # The user or group the request was about: named in its path, or created by it.
    resource_type = models.CharField(max_length=10, blank=True)
    resource_id = models.UUIDField(null=True, blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    aggregated = models.BooleanField(default=False)
    count = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["org", "-created_at", "id"], name="scimrequest_org_created"),
            models.Index(
                fields=["org", "resource_id"],
                condition=models.Q(resource_id__isnull=False),
                name="scimrequest_org_resource",
            ),
            models.Index(
                fields=["client_address", "created_at"],
                condition=models.Q(aggregated=True),
                name="scimrequest_aggregated",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(org__isnull=True),
                name="scimrequest_unknown_created",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.method} {self.path} {self.status}"

    @property
    def status_class(self) -> str:
        return "429" if self.status == 429 else f"{self.status // 100}xx"
