"""Orgs and their admins: create, rename, seats, the deprovisioning policy, admin logins
and their summary emails."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from directory.audit import Actor, audit_record
from directory.errors import Conflict, InvalidValue
from directory.models import Org, OrgAdmin


def org_create(*, slug: str, name: str, seats: int = 100) -> Org:
    """Create an org. Raises Conflict if the slug is taken, InvalidValue on a bad slug."""
    if not slug or slugify(slug) != slug:
        raise InvalidValue(
            f"Invalid slug {slug!r}: use lowercase letters, digits and hyphens",
            field="slug",
        )
    if not name.strip():
        raise InvalidValue("The org needs a name", field="name")
    if seats < 0:
        raise InvalidValue("Seats cannot be negative", field="seats")
    try:
        with transaction.atomic():
            return Org.objects.create(slug=slug, name=name.strip(), seats=seats)
    except IntegrityError:
        raise Conflict(f"An org with slug {slug!r} already exists", field="slug") from None


def org_update(*, org: Org, name: str | None = None, seats: int | None = None) -> Org:
    """Rename an org or change its seat count."""
    if name is not None:
        if not name.strip():
            raise InvalidValue("The org needs a name", field="name")
        org.name = name.strip()
    if seats is not None:
        if seats < 0:
            raise InvalidValue("Seats cannot be negative", field="seats")
        org.seats = seats
    org.save(update_fields=["name", "seats"])
    return org


MAX_GRACE_DAYS = 3650


@transaction.atomic
def org_deprovision_set(
    *, org: Org, deprovision: str, grace_days: int | None = None, actor: Actor
) -> Org:
    """Choose what happens when the IdP deactivates or deletes a user: "disable" keeps
    the user, marked disabled; "delete" removes it and frees its seat;
    "disable-then-delete" disables it at once and deletes it after `grace_days` (1 to
    3650; kept as it was when not given) unless it is reactivated first. The org's
    policy, with or without a SCIM directory (deleting the directory keeps it)."""
    if deprovision not in Org.Deprovision.values:
        raise InvalidValue(
            f"Unknown deprovisioning action {deprovision!r}: use disable, delete or "
            "disable-then-delete",
            field="deprovision",
        )
    if grace_days is not None:
        if isinstance(grace_days, bool) or not 1 <= grace_days <= MAX_GRACE_DAYS:
            raise InvalidValue(
                f"The grace period is 1 to {MAX_GRACE_DAYS} days", field="grace_days"
            )
        org.deprovision_grace_days = grace_days
    org.deprovision = deprovision
    org.save(update_fields=["deprovision", "deprovision_grace_days"])
    target = deprovision
    if deprovision == Org.Deprovision.DISABLE_THEN_DELETE:
        target += f" after {org.deprovision_grace_days} days"
    audit_record(org=org, actor=actor, action="org.deprovision", target=target)
    return org


def org_admin_mfa_set(*, org: Org, required: bool, actor: Actor) -> Org:
    """Require a second factor of every admin of the org at console sign-in (or stop
    requiring it); admins without one enrol at their next page. Audited."""
    org.admins_need_mfa = required
    org.save(update_fields=["admins_need_mfa"])
    audit_record(org=org, actor=actor, action="org.admin_mfa", target="on" if required else "off")
    return org


MAX_REQUEST_LOG_DAYS = 365


def org_request_log_set(
    *, org: Org, retention_days: int, masks_personal_data: bool, actor: Actor
) -> Org:
    """How the org's provisioning log keeps SCIM requests: for `retention_days` (1 to
    MAX_REQUEST_LOG_DAYS), and with names, emails, phone numbers and addresses masked
    when `masks_personal_data` (entries already kept stay as they are)."""
    if isinstance(retention_days, bool) or not 1 <= retention_days <= MAX_REQUEST_LOG_DAYS:
        raise InvalidValue(
            f"The provisioning log keeps requests 1 to {MAX_REQUEST_LOG_DAYS} days",
            field="retention_days",
        )
    org.request_log_retention_days = retention_days
    org.request_log_masks_personal_data = bool(masks_personal_data)
    org.save(update_fields=["request_log_retention_days", "request_log_masks_personal_data"])
    target = f"kept {retention_days} days" + (
        ", personal data masked" if masks_personal_data else ""
    )
    audit_record(org=org, actor=actor, action="org.request_log", target=target)
    return org


@transaction.atomic
def org_admin_add(*, org: Org, email: str) -> tuple[OrgAdmin, str | None]:
    """Make the person with this email an admin of the org.

    Creates their login if they have none; returns the membership and, for a new
    login, its one-time password (None when the login already existed).
    """
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidValue(f"{email!r} is not an email address", field="email")
    user = User.objects.filter(username__iexact=email).first()
    password = None
    if user is None:
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(username=email, email=email, password=password)
    admin, _ = OrgAdmin.objects.get_or_create(org=org, user=user)
    return admin, password


def org_admin_summaries_set(*, org: Org, user: User, enabled: bool) -> OrgAdmin:
    """Opt an admin in or out of the org's hourly summary emails."""
    membership = OrgAdmin.objects.get(org=org, user=user)
    membership.summary_emails = enabled
    membership.save(update_fields=["summary_emails"])
    return membership
