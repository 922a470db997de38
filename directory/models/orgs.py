"""Orgs, their admins, their IdP settings and their SCIM directories."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

from directory.encryption import EncryptedTextField


class Org(models.Model):
    """A customer org. Its deprovisioning policy and access groups are its own, not its
    SCIM directory's: they hold whichever way users arrive (SCIM, the console, LDAP
    later), before a directory exists and after it is deleted."""

    class Deprovision(models.TextChoices):
        DISABLE = "disable", "Disable"
        DELETE = "delete", "Delete"
        DISABLE_THEN_DELETE = "disable-then-delete", "Disable, then delete after a grace period"

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    seats = models.PositiveIntegerField(default=100)
    # How many users hold a seat. Changed only by directory.services, with a
    # conditional UPDATE, so two concurrent creates cannot take the last seat twice.
    seats_used = models.PositiveIntegerField(default=0)
    # Every admin of the org signs in to the console with a second factor (TOTP or a
    # recovery code); one without is sent to enrol first (commandcenter.middleware).
    admins_need_mfa = models.BooleanField(default=False)
    # SCIM requests per second the org's IdPs may send, all tokens together; empty
    # means the SCIM_RATE_PER_ORG setting.
    scim_rate_limit = models.PositiveIntegerField(null=True, blank=True)
    # What happens when the IdP deactivates or deletes a user.
    deprovision = models.CharField(
        max_length=20, choices=Deprovision.choices, default=Deprovision.DISABLE
    )
    # Under disable-then-delete: how many days a deactivated user is kept before the
    # scheduler deletes it (directory.services.users.users_grace_expired_delete).
    deprovision_grace_days = models.PositiveSmallIntegerField(default=30)
    # The provisioning log (ScimRequest): how long it keeps requests, and whether it
    # masks personal values (names, emails, phone numbers, addresses) as well as secrets.
    request_log_retention_days = models.PositiveSmallIntegerField(default=30)
    request_log_masks_personal_data = models.BooleanField(default=False)
    # The change feed (ChangeEvent) keeps changes this long; `changes_pruned_through`
    # is the (txid, id) of the last one pruned: an older cursor is gone (410).
    change_retention_days = models.PositiveSmallIntegerField(default=30)
    changes_pruned_txid = models.BigIntegerField(default=0)
    changes_pruned_id = models.BigIntegerField(default=0)
    # Only members of these groups get access (none: everyone does). Changed only by
    # directory.services.access, which keeps every user's NOT_IN_ACCESS_GROUPS mark
    # in step with them. (Group is in directory.models.people, which imports this module.)
    access_groups: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "Group", blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class OrgAdmin(models.Model):
    """A Django user who administers an org. One person may administer several orgs."""

    org = models.ForeignKey(Org, models.CASCADE, related_name="admins")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="org_admins")
    summary_emails = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="orgadmin_unique_org_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.org}"


class IdentityProvider(models.Model):
    """The org's end-user identity provider, as configured in the console."""

    class Provider(models.TextChoices):
        OKTA = "okta", "Okta"
        ENTRA = "entra", "Microsoft Entra ID"
        OTHER = "other", "Other"

    class Protocol(models.TextChoices):
        SAML = "saml", "SAML 2.0"
        OIDC = "oidc", "OpenID Connect"

    # The settings each protocol uses; saving one protocol clears the other's.
    SAML_SETTINGS = (
        "sso_url",
        "entity_id",
        "metadata_xml",
        "metadata_url",
        "certificates",
        "idp_initiated",
    )
    OIDC_SETTINGS = ("issuer", "client_id", "client_secret", "scopes", "username_claim")

    class UsernameClaim(models.TextChoices):
        EMAIL = "email", "email"
        PREFERRED_USERNAME = "preferred_username", "preferred_username"

    org = models.OneToOneField(Org, models.CASCADE, related_name="idp")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    protocol = models.CharField(max_length=10, choices=Protocol.choices)
    # SAML: the IdP's SSO URL and entity id, read from its metadata (kept as given, with
    # the URL it came from, if any), and its signing certificates: at most two during a
    # rollover, each {"pem", "sha256", "not_after"} (directory.services.idp).
    sso_url = models.URLField(max_length=1000, blank=True)
    entity_id = models.CharField(max_length=500, blank=True)
    metadata_xml = models.TextField(blank=True)
    metadata_url = models.URLField(max_length=1000, blank=True)
    certificates: models.JSONField[list[dict[str, str]], list[dict[str, str]]] = models.JSONField(
        default=list, blank=True
    )
    # Responses the IdP sends unasked (no AuthnRequest of ours): refused unless on.
    idp_initiated = models.BooleanField(default=False)
    # OIDC: the issuer (its discovery document is at /.well-known/openid-configuration),
    # the client, and the claim that is matched to userName.
    issuer = models.URLField(max_length=1000, blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    client_secret = EncryptedTextField(blank=True)
    scopes = models.CharField(max_length=200, blank=True, default="openid email profile")
    username_claim = models.CharField(
        max_length=32, choices=UsernameClaim.choices, default=UsernameClaim.EMAIL, blank=True
    )
    # Just-in-time creation: an unknown user who signs in is created (source "jit").
    # Only while the org has no live SCIM directory: with SCIM on, SCIM decides who exists.
    jit = models.BooleanField(default=False)
    saved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.org}: {self.provider}/{self.protocol}"

    @property
    def is_saved(self) -> bool:
        return self.saved_at is not None

    @property
    def signin_ready(self) -> bool:
        """Whether end users can sign in with it: SAML needs the IdP's metadata (entity
        id, SSO URL, a certificate), OIDC an issuer and a client id. A provider and a
        protocol alone are enough for SCIM, not for sign-in."""
        if self.protocol == self.Protocol.SAML:
            return bool(self.entity_id and self.sso_url and self.certificates)
        return bool(self.issuer and self.client_id)


class ScimDirectory(models.Model):
    """An org's SCIM directory: the target of one IdP's provisioning.

    Its UUID is part of the Base URL. Deleting a directory keeps the row
    (deleted_at) so events and users can still say where they came from; an org
    has at most one directory that is not deleted. The org's policies are on Org;
    the name rule is the directory's, since only what the IdP sends is checked.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Org, models.CASCADE, related_name="scim_directories")
    enabled = models.BooleanField(default=True)
    reject_special_characters = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "SCIM directories"
        constraints = [
            models.UniqueConstraint(
                fields=["org"],
                condition=models.Q(deleted_at__isnull=True),
                name="scimdirectory_one_live_per_org",
            )
        ]

    def __str__(self) -> str:
        return f"{self.org} SCIM {self.id}"

    @property
    def base_url(self) -> str:
        return f"{settings.SITE_URL}/scim/v2/{self.id}"

    @property
    def is_live(self) -> bool:
        return self.enabled and self.deleted_at is None

    @cached_property
    def access_group_ids(self) -> list[uuid.UUID]:
        """The org's access groups (Org.access_groups; empty: everyone has access).
        Kept on the instance, and so with a cached token (tokens.auth), for the SCIM
        requests that read them on every create: directory.services.access forgets it
        on the instance when it changes the list, and tokens.receivers drops the cached
        tokens."""
        return list(
            Org.access_groups.through.objects.filter(org_id=self.org_id).values_list(
                "group_id", flat=True
            )
        )
