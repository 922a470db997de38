"""End users, their emails, groups and memberships."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Lower

from directory.models.fields import NameKeyField
from directory.models.orgs import Org, ScimDirectory
from directory.names import USER_NAME_KEY_MAX_LENGTH


class Source(models.TextChoices):
    SCIM = "scim", "SCIM"
    JIT = "jit", "Just-in-time"
    MANUAL = "manual", "Manual"
    LDAP = "ldap", "LDAP"


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
    # The LDAP entry's stable id (entryUUID, or AD's objectGUID as a UUID), so a renamed
    # entry stays the same user; NULL for users that never came from LDAP.
    ldap_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
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
            models.UniqueConstraint(
                fields=["org", "ldap_id"],
                condition=models.Q(ldap_id__isnull=False),
                name="enduser_unique_ldap_id",
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
    # As EndUser.ldap_id: the LDAP group entry's stable id.
    ldap_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    members = models.ManyToManyField(EndUser, through="Membership", related_name="groups")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["display_name_key", "org"], name="group_unique_displayname_key"
            ),
            models.UniqueConstraint(
                fields=["org", "ldap_id"],
                condition=models.Q(ldap_id__isnull=False),
                name="group_unique_ldap_id",
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
