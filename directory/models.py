"""The directory: orgs, their admins, IdP settings, SCIM directories, end users,
groups, memberships and provisioning events. Fields and constraints only; the
rules live in directory.services."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.functional import cached_property

from directory.encryption import EncryptedTextField
from directory.names import USER_NAME_KEY_MAX_LENGTH, user_name_key


class NameKeyField(models.CharField[str | None, str | None]):
    """The key (directory.names) of another field of the row (`source`), kept with it.

    Computed on every INSERT (save, create, bulk_create, directory.prepared.insert),
    and on every UPDATE of a row that has a key. A row without one (NULL: a name that
    collided with an older row's when the key was introduced, migrations 0009 and
    0010) keeps NULL until an update finds its key free (directory.services), so
    updating such a user or group never fails on the unique index."""

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        self.source = source
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str | None:
        current: str | None = getattr(model_instance, self.attname)
        if add or current is not None:
            current = user_name_key(getattr(model_instance, self.source))
            setattr(model_instance, self.attname, current)
        return current


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
    # Only members of these groups get access (none: everyone does). Changed only by
    # directory.services.access, which keeps every user's NOT_IN_ACCESS_GROUPS mark
    # in step with them.
    access_groups: models.ManyToManyField[Group, Any] = models.ManyToManyField(
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


class Source(models.TextChoices):
    SCIM = "scim", "SCIM"
    JIT = "jit", "Just-in-time"
    MANUAL = "manual", "Manual"


class EndUser(models.Model):
    """A person in an org's directory. `id` is the SCIM id."""

    class Access(models.TextChoices):
        OK = "", "OK"
        NOT_IN_ACCESS_GROUPS = "NOT_IN_ACCESS_GROUPS", "Not in access groups"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the (org, ...) indexes below all start with it, and every
    # index is one more write per user created.
    org = models.ForeignKey(Org, models.CASCADE, related_name="users", db_index=False)
    directory = models.ForeignKey(
        ScimDirectory, models.SET_NULL, null=True, blank=True, related_name="users"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    user_name = models.CharField(max_length=254)
    # What userName lookups and uniqueness compare: directory.names.user_name_key.
    user_name_key = NameKeyField(
        source="user_name", max_length=USER_NAME_KEY_MAX_LENGTH, null=True, editable=False
    )
    external_id = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)

    display_name = models.CharField(max_length=255, blank=True)
    nick_name = models.CharField(max_length=255, blank=True)
    name_formatted = models.CharField(max_length=512, blank=True)
    given_name = models.CharField(max_length=255, blank=True)
    family_name = models.CharField(max_length=255, blank=True)
    middle_name = models.CharField(max_length=255, blank=True)
    honorific_prefix = models.CharField(max_length=64, blank=True)
    honorific_suffix = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=255, blank=True)
    user_type = models.CharField(max_length=64, blank=True)
    preferred_language = models.CharField(max_length=64, blank=True)
    locale = models.CharField(max_length=64, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    profile_url = models.CharField(max_length=512, blank=True)
    # Multi-valued attributes are stored as sent: [{"value", "type", "primary", ...}].
    emails = models.JSONField(default=list, blank=True)
    phone_numbers = models.JSONField(default=list, blank=True)
    addresses = models.JSONField(default=list, blank=True)

    # Enterprise extension (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User)
    employee_number = models.CharField(max_length=64, blank=True)
    cost_center = models.CharField(max_length=255, blank=True)
    organization = models.CharField(max_length=255, blank=True)
    division = models.CharField(max_length=255, blank=True)
    department = models.CharField(max_length=255, blank=True)
    manager = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="reports"
    )

    has_seat = models.BooleanField(default=False)
    seat_changed_at = models.DateTimeField(null=True, blank=True)
    access = models.CharField(max_length=32, choices=Access.choices, default="", blank=True)
    # Set when the IdP deleted the user under the "disable" policy: the user stays
    # in the directory, disabled, but SCIM no longer sees it.
    removed_by_idp_at = models.DateTimeField(null=True, blank=True)
    # When the IdP deactivated (or deleted) the user, while it stays disabled: the grace
    # period of the disable-then-delete policy runs from here.
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Sign-in: the IdP's subject (SAML NameID or OIDC `sub`), recorded at the first
    # sign-in and required at every later one, and when the user last signed in.
    # NULL until then (unique in the org once set; NULL, not "", so the unique index skips
    # the unlinked, and adding the column does not rebuild the table on SQLite).
    idp_subject = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    last_signin_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            # Key first: the userName lookups match the org as `org_id + 0`, which no
            # index serves, so this is the only index they can read (services).
            models.UniqueConstraint(
                fields=["user_name_key", "org"], name="enduser_unique_username_key"
            ),
            # One directory user per IdP subject: a sign-in finds its user by it.
            models.UniqueConstraint(
                fields=["org", "idp_subject"],
                condition=models.Q(idp_subject__isnull=False),
                name="enduser_unique_idp_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["org", "external_id"], name="enduser_org_externalid"),
            models.Index(fields=["org", "created_at", "id"], name="enduser_org_created"),
            # The queue of active users waiting for a seat, longest-waiting first.
            models.Index(
                fields=["org", "created_at"],
                condition=models.Q(has_seat=False, active=True),
                name="enduser_waiting_for_seat",
            ),
        ]

    def __str__(self) -> str:
        return self.user_name

    @property
    def primary_email(self) -> str:
        for email in self.emails:
            if isinstance(email, dict) and email.get("primary"):
                return str(email.get("value", ""))
        if self.emails and isinstance(self.emails[0], dict):
            return str(self.emails[0].get("value", ""))
        return ""

    @property
    def name_display(self) -> str:
        return (
            self.display_name
            or " ".join(p for p in (self.given_name, self.family_name) if p)
            or self.user_name
        )


class UserEmail(models.Model):
    """One entry of a user's `emails`, kept beside the JSON copy so SCIM filters such
    as `emails[type eq "work"].value eq "x"` run in SQL on an index."""

    user = models.ForeignKey(EndUser, models.CASCADE, related_name="email_rows")
    org = models.ForeignKey(Org, models.CASCADE, related_name="+")
    value = models.CharField(max_length=254)
    type = models.CharField(max_length=32, blank=True)
    primary = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # Email filters run as EXISTS subqueries correlated to the user; this
            # index lets them start from the matching addresses instead.
            models.Index(Lower("value"), name="useremail_value_lower"),
            # (user_id has the index every ForeignKey gets.)
        ]

    def __str__(self) -> str:
        return self.value


class Group(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Org, models.CASCADE, related_name="groups")
    directory = models.ForeignKey(
        ScimDirectory, models.SET_NULL, null=True, blank=True, related_name="groups"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    display_name = models.CharField(max_length=255)
    # What displayName lookups and uniqueness compare: directory.names.display_name_key.
    display_name_key = NameKeyField(
        source="display_name", max_length=USER_NAME_KEY_MAX_LENGTH, null=True, editable=False
    )
    external_id = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(EndUser, through="Membership", related_name="groups")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["display_name_key", "org"], name="group_unique_displayname_key"
            ),
        ]
        indexes = [
            models.Index(fields=["org", "external_id"], name="group_org_externalid"),
            models.Index(fields=["org", "created_at", "id"], name="group_org_created"),
        ]

    def __str__(self) -> str:
        return self.display_name


class Membership(models.Model):
    group = models.ForeignKey(Group, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(EndUser, models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="membership_unique")]
        indexes = [models.Index(fields=["user", "group"], name="membership_user_group")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


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


class SigninRefusal(models.TextChoices):
    """Why a sign-in was refused: the code the refusal page and the event carry."""

    USER_NOT_PROVISIONED = "USER_NOT_PROVISIONED", "Not in the directory"
    USER_DISABLED = "USER_DISABLED", "Deactivated"
    NOT_IN_ACCESS_GROUPS = "NOT_IN_ACCESS_GROUPS", "Not in the access groups"
    NO_SEAT = "NO_SEAT", "No seat"
    INVALID_RESPONSE = "INVALID_RESPONSE", "Invalid response from the IdP"
    SSO_NOT_CONFIGURED = "SSO_NOT_CONFIGURED", "Sign-in not set up"


class EndUserSession(models.Model):
    """A signed-in end user (never a console admin: those are Django sessions). The
    browser holds a random token; only its digest is stored. Every request checks the
    user against the sign-in gate again, and whatever takes a user's access away
    deletes their sessions (directory.services.signin)."""

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(EndUser, models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    protocol = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class SigninNonce(models.Model):
    """A one-time value of a sign-in in flight, kept in the database so that every
    worker and process sees it (directory.services.signin_state): the ID of an
    AuthnRequest we sent (answered once), the ID of an assertion we accepted (never
    accepted again before it expires), an OIDC state with its nonce and PKCE verifier."""

    class Kind(models.TextChoices):
        AUTHN_REQUEST = "authn_request", "SAML AuthnRequest"
        ASSERTION = "assertion", "SAML assertion"
        OIDC_STATE = "oidc_state", "OIDC state"

    org = models.ForeignKey(Org, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=255)
    data: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        default=dict, blank=True
    )
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "kind", "key"], name="signinnonce_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


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

    class Meta:
        indexes = [models.Index(fields=["org", "-created_at"], name="audit_org_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action}"


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
    created_at = models.DateTimeField(db_index=True)
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
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.method} {self.path} {self.status}"

    @property
    def status_class(self) -> str:
        return "429" if self.status == 429 else f"{self.status // 100}xx"
