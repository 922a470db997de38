"""Writes to the directory. Every rule lives here once, whoever triggers it:
SCIM, the console, the admin API or a manage.py command."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from directory.errors import Conflict, InvalidValue, NotFound, PreconditionFailed
from directory.models import (
    IdentityProvider,
    Org,
    OrgAdmin,
    ProvisioningEvent,
    ScimDirectory,
    Source,
)

# Orgs -------------------------------------------------------------------------


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


# Identity provider -------------------------------------------------------------


def idp_configure(
    *,
    org: Org,
    provider: str,
    protocol: str,
    sso_url: str = "",
    entity_id: str = "",
    issuer: str = "",
    client_id: str = "",
) -> IdentityProvider:
    """Save the org's end-user IdP settings. Saving is what SCIM's prerequisite checks."""
    if provider not in IdentityProvider.Provider.values:
        raise InvalidValue(f"Unknown provider {provider!r}", field="provider")
    if protocol not in IdentityProvider.Protocol.values:
        raise InvalidValue(f"Unknown protocol {protocol!r}", field="protocol")
    idp, _ = IdentityProvider.objects.update_or_create(
        org=org,
        defaults={
            "provider": provider,
            "protocol": protocol,
            "sso_url": sso_url,
            "entity_id": entity_id,
            "issuer": issuer,
            "client_id": client_id,
            "saved_at": timezone.now(),
        },
    )
    return idp


# SCIM directory ----------------------------------------------------------------


def scim_check_prerequisites(*, org: Org) -> None:
    """Raise PreconditionFailed with the reason SCIM cannot be enabled for this org."""
    idp = IdentityProvider.objects.filter(org=org).first()
    if idp is None or not idp.is_saved:
        raise PreconditionFailed(
            "Configure and save the org's end-user identity provider before enabling SCIM"
        )
    if idp.provider == IdentityProvider.Provider.OKTA and idp.protocol != "saml":
        raise PreconditionFailed(
            "SCIM with Okta needs a SAML connection: convert the connection to SAML first"
        )


@transaction.atomic
def scim_enable(*, org: Org) -> ScimDirectory:
    """Switch SCIM on: re-enable the org's directory, or create one (a new Base URL)."""
    scim_check_prerequisites(org=org)
    # Lock the org so two concurrent enables cannot both create a directory.
    Org.objects.select_for_update().get(pk=org.pk)
    directory = org.scim_directories.filter(deleted_at__isnull=True).first()
    if directory is None:
        return ScimDirectory.objects.create(org=org, enabled=True)
    if not directory.enabled:
        directory.enabled = True
        directory.save(update_fields=["enabled"])
    return directory


@transaction.atomic
def scim_disable(*, org: Org) -> ScimDirectory:
    """Switch SCIM off: the Base URL answers 401 until SCIM is enabled again."""
    directory = org.scim_directories.select_for_update().filter(deleted_at__isnull=True).first()
    if directory is None:
        raise NotFound(f"Org {org.slug!r} has no SCIM directory")
    if directory.enabled:
        directory.enabled = False
        directory.save(update_fields=["enabled"])
    return directory


# Events ------------------------------------------------------------------------


def event_record(
    *,
    org: Org,
    action: str,
    outcome: str,
    directory: ScimDirectory | None = None,
    resource_type: str = "",
    resource_id: Any = None,
    resource_name: str = "",
    message: str = "",
    status_code: int | None = None,
    client: str = "",
    details: dict[str, Any] | None = None,
) -> ProvisioningEvent:
    """Record a provisioning event. Call it inside the transaction of the change it
    describes, so the two commit (or roll back) together."""
    return ProvisioningEvent.objects.create(
        org=org,
        directory=directory,
        action=action,
        outcome=outcome,
        resource_type=resource_type,
        resource_id=resource_id,
        resource_name=resource_name[:255],
        message=message,
        status_code=status_code,
        client=client[:255],
        details=details or {},
    )


@transaction.atomic
def scim_policy_set(*, org: Org, deprovision: str) -> ScimDirectory:
    """Choose what happens when the IdP deactivates or deletes a user:
    "disable" keeps the user, marked disabled; "delete" removes it and frees its seat."""
    if deprovision not in ScimDirectory.Deprovision.values:
        raise InvalidValue(
            f"Unknown deprovisioning action {deprovision!r}: use disable or delete",
            field="deprovision",
        )
    directory = org.scim_directories.select_for_update().filter(deleted_at__isnull=True).first()
    if directory is None:
        raise NotFound(f"Org {org.slug!r} has no SCIM directory")
    directory.deprovision = deprovision
    directory.save(update_fields=["deprovision"])
    return directory


@transaction.atomic
def scim_directory_delete(*, org: Org) -> ScimDirectory:
    """Delete the org's SCIM directory: syncing stops (its tokens are revoked, its Base
    URL answers 401), its users and groups stay, as manual entries of no directory."""
    directory = org.scim_directories.select_for_update().filter(deleted_at__isnull=True).first()
    if directory is None:
        raise NotFound(f"Org {org.slug!r} has no SCIM directory")
    now = timezone.now()
    directory.tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    directory.users.update(directory=None, source=Source.MANUAL)
    directory.groups.update(directory=None, source=Source.MANUAL)
    directory.enabled = False
    directory.deleted_at = now
    directory.save(update_fields=["enabled", "deleted_at"])
    return directory
