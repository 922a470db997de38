"""Writes to the directory. Every rule lives here once, whoever triggers it:
SCIM, the console, the admin API or a manage.py command."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from directory.audit import Actor, audit_record
from directory.errors import (
    Conflict,
    InvalidValue,
    LimitReached,
    NotFound,
    PreconditionFailed,
    VersionMismatch,
)
from directory.models import (
    EndUser,
    Group,
    IdentityProvider,
    Membership,
    Org,
    OrgAdmin,
    ProvisioningEvent,
    ScimDirectory,
    Source,
    UserEmail,
)
from directory.names import USER_NAME_KEY_MAX_LENGTH, display_name_key, user_name_key
from directory.prepared import PreparedQuery, PreparedUpdate, insert
from directory.selectors import users_of_org_by_name
from tokens.services import token_cache_forget

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
    actor: Actor | None = None,
) -> IdentityProvider:
    """Save the org's end-user IdP settings. Saving is what SCIM's prerequisite checks.

    A provider and a protocol alone are a saved IdP, whichever interface saves it; only
    the chosen protocol's settings are kept, so switching protocol starts clean."""
    if provider not in IdentityProvider.Provider.values:
        raise InvalidValue(f"Unknown provider {provider!r}", field="provider")
    if protocol not in IdentityProvider.Protocol.values:
        raise InvalidValue(f"Unknown protocol {protocol!r}", field="protocol")
    given = {
        "sso_url": sso_url,
        "entity_id": entity_id,
        "issuer": issuer,
        "client_id": client_id,
    }
    unused = (
        IdentityProvider.OIDC_SETTINGS
        if protocol == IdentityProvider.Protocol.SAML
        else IdentityProvider.SAML_SETTINGS
    )
    idp, _ = IdentityProvider.objects.update_or_create(
        org=org,
        defaults={
            "provider": provider,
            "protocol": protocol,
            **{name: "" if name in unused else value for name, value in given.items()},
            "saved_at": timezone.now(),
        },
    )
    audit_record(org=org, actor=actor, action="idp.configure", target=f"{provider}/{protocol}")
    return idp


# SCIM directory ----------------------------------------------------------------


def _live_directory_lock(*, org: Org) -> ScimDirectory:
    """The org's live SCIM directory, locked until the transaction ends; NotFound if none."""
    directory = org.scim_directories.select_for_update().filter(deleted_at__isnull=True).first()
    if directory is None:
        raise NotFound(f"Org {org.slug!r} has no SCIM directory")
    return directory


# The versions a write may go ahead on (SCIM If-Match: one tag or several), or None.
Versions = int | frozenset[int] | None


def _version_check(locked: EndUser | Group, expected_version: Versions) -> None:
    """VersionMismatch (SCIM 412) when If-Match named none of the row's version."""
    if expected_version is None:
        return
    allowed = {expected_version} if isinstance(expected_version, int) else expected_version
    if locked.version not in allowed:
        kind = "user" if isinstance(locked, EndUser) else "group"
        named = ", ".join(str(v) for v in sorted(allowed)) or "none"
        raise VersionMismatch(
            f"The {kind} is at version {locked.version}, not one If-Match names ({named})"
        )


def _forget_cached_tokens(directory: ScimDirectory) -> None:
    # Authenticated tokens are cached with their directory (and its policies): any
    # change to the directory must reach the next request at once.
    token_cache_forget(directory.tokens.values_list("digest", flat=True))


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
def scim_enable(*, org: Org, actor: Actor | None = None) -> ScimDirectory:
    """Switch SCIM on: re-enable the org's directory, or create one (a new Base URL)."""
    scim_check_prerequisites(org=org)
    # Lock the org so two concurrent enables cannot both create a directory.
    Org.objects.select_for_update().get(pk=org.pk)
    directory = org.scim_directories.filter(deleted_at__isnull=True).first()
    if directory is None:
        directory = ScimDirectory.objects.create(org=org, enabled=True)
    elif not directory.enabled:
        directory.enabled = True
        directory.save(update_fields=["enabled"])
    audit_record(org=org, actor=actor, action="scim.enable", target=str(directory.id))
    return directory


@transaction.atomic
def scim_disable(*, org: Org, actor: Actor | None = None) -> ScimDirectory:
    """Switch SCIM off: the Base URL answers 401 until SCIM is enabled again."""
    directory = _live_directory_lock(org=org)
    if directory.enabled:
        directory.enabled = False
        directory.save(update_fields=["enabled"])
    _forget_cached_tokens(directory)
    audit_record(org=org, actor=actor, action="scim.disable", target=str(directory.id))
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
    return insert(
        ProvisioningEvent(
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
    )


@transaction.atomic
def scim_policy_set(*, org: Org, deprovision: str, actor: Actor | None = None) -> ScimDirectory:
    """Choose what happens when the IdP deactivates or deletes a user:
    "disable" keeps the user, marked disabled; "delete" removes it and frees its seat."""
    if deprovision not in ScimDirectory.Deprovision.values:
        raise InvalidValue(
            f"Unknown deprovisioning action {deprovision!r}: use disable or delete",
            field="deprovision",
        )
    directory = _live_directory_lock(org=org)
    directory.deprovision = deprovision
    directory.save(update_fields=["deprovision"])
    _forget_cached_tokens(directory)
    audit_record(org=org, actor=actor, action="scim.policy", target=deprovision)
    return directory


@transaction.atomic
def scim_directory_delete(*, org: Org, actor: Actor | None = None) -> ScimDirectory:
    """Delete the org's SCIM directory: syncing stops (its tokens are revoked, its Base
    URL answers 401), its users and groups stay, as manual entries of no directory. Its
    deprovisioning policy and access groups go with it, so access is no longer limited."""
    directory = _live_directory_lock(org=org)
    now = timezone.now()
    _forget_cached_tokens(directory)
    directory.tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    directory.users.update(directory=None, source=Source.MANUAL)
    directory.groups.update(directory=None, source=Source.MANUAL)
    directory.enabled = False
    directory.deleted_at = now
    directory.save(update_fields=["enabled", "deleted_at"])
    # Its access groups went with it: nobody is restricted any more, so no mark stays.
    _access_refresh(org=org, directory=None, user_ids=None)
    audit_record(org=org, actor=actor, action="scim.delete", target=str(directory.id))
    return directory


# End users ---------------------------------------------------------------------


@dataclass
class UserFields:
    """Every attribute of an end user that a client may set, already validated for
    type. SCIM PUT/POST and console forms both end up here."""

    user_name: str
    external_id: str = ""
    active: bool = True
    display_name: str = ""
    nick_name: str = ""
    name_formatted: str = ""
    given_name: str = ""
    family_name: str = ""
    middle_name: str = ""
    honorific_prefix: str = ""
    honorific_suffix: str = ""
    title: str = ""
    user_type: str = ""
    preferred_language: str = ""
    locale: str = ""
    timezone: str = ""
    profile_url: str = ""
    emails: list[dict[str, Any]] = field(default_factory=list)
    phone_numbers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    employee_number: str = ""
    cost_center: str = ""
    organization: str = ""
    division: str = ""
    department: str = ""
    manager_id: uuid.UUID | None = None


USER_FIELD_NAMES = [f.name for f in fields(UserFields)]
# Fields the optional name rule applies to.
NAME_FIELDS = {
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "middle_name": "name.middleName",
    "name_formatted": "name.formatted",
    "display_name": "displayName",
    "nick_name": "nickName",
}
FORBIDDEN_NAME_CHARACTERS = set("@,#$!")


@dataclass(frozen=True)
class UserChange:
    """What a user write did: the user as saved, and whether deprovisioning deleted it."""

    user: EndUser
    action: str
    deleted: bool = False


def _user_check(*, fields: UserFields, directory: ScimDirectory | None) -> None:
    user_name = fields.user_name.strip()
    if not user_name:
        raise InvalidValue("userName is required", field="userName")
    if len(user_name) > 254:
        raise InvalidValue("userName is longer than 254 characters", field="userName")
    if len(user_name_key(user_name)) > USER_NAME_KEY_MAX_LENGTH:
        raise InvalidValue(
            f"userName is longer than {USER_NAME_KEY_MAX_LENGTH} characters once case-folded",
            field="userName",
        )
    if directory is not None and directory.reject_special_characters:
        for name, label in NAME_FIELDS.items():
            bad = FORBIDDEN_NAME_CHARACTERS & set(getattr(fields, name))
            if bad:
                raise InvalidValue(
                    f"{label} contains characters this org does not allow: {' '.join(sorted(bad))}",
                    field=label,
                )


def _manager_check(*, org: Org, manager_id: uuid.UUID | None, user_id: uuid.UUID | None) -> None:
    if manager_id is None:
        return
    if manager_id == user_id:
        raise InvalidValue("A user cannot be their own manager", field="manager")
    if not org.users.filter(id=manager_id, removed_by_idp_at__isnull=True).exists():
        raise InvalidValue(f"No user {manager_id} in this directory", field="manager")


def _email_rows(user: EndUser) -> list[UserEmail]:
    rows = []
    for email in user.emails:
        if isinstance(email, dict) and isinstance(email.get("value"), str) and email["value"]:
            rows.append(
                UserEmail(
                    user=user,
                    org_id=user.org_id,
                    value=email["value"][:254],
                    type=str(email.get("type") or "")[:32],
                    primary=bool(email.get("primary")),
                )
            )
    return rows


# Both run on every create (directory.prepared: compiled once, not per call).
_SEAT_TAKE = PreparedUpdate(
    lambda org_id: (
        Org.objects.filter(pk=org_id, seats_used__lt=F("seats")),
        {"seats_used": F("seats_used") + 1},
    ),
    samples=(-7_000_001,),
)
_USER_NAMED_LOCKED = PreparedQuery(
    lambda org_id, name: (
        users_of_org_by_name(org_id).select_for_update().filter(user_name_key=name)
    ),
    samples=(-7_000_001, "prepared-sample-user-name"),
)


def _seat_take(*, org: Org) -> bool:
    """Take a free seat of the org if there is one. The conditional UPDATE locks the
    org row until commit, so concurrent writers count seats one at a time."""
    return _SEAT_TAKE.run(org.pk) == 1


def _seat_free(*, org: Org, user: EndUser) -> EndUser | None:
    """Release the user's seat and hand it to the longest-waiting active user.

    Returns the user who received it, if any."""
    user.has_seat = False
    user.seat_changed_at = timezone.now()
    waiting = (
        org.users.select_for_update(skip_locked=True)
        .filter(has_seat=False, active=True, removed_by_idp_at__isnull=True)
        .exclude(pk=user.pk)
        .order_by("created_at")
        .first()
    )
    if waiting is None:
        Org.objects.filter(pk=org.pk, seats_used__gt=0).update(seats_used=F("seats_used") - 1)
        return None
    # The seat moves from one user to the other: seats_used does not change.
    EndUser.objects.filter(pk=waiting.pk).update(
        has_seat=True, seat_changed_at=user.seat_changed_at
    )
    return waiting


def _event(
    *,
    user: EndUser | None = None,
    group: Group | None = None,
    org: Org,
    action: str,
    outcome: str = ProvisioningEvent.Outcome.SUCCESS,
    directory: ScimDirectory | None,
    client: str,
    message: str = "",
    details: dict[str, Any] | None = None,
    status_code: int | None = None,
) -> None:
    if user is not None:
        resource_type, resource_id, resource_name = "User", user.id, user.user_name
    elif group is not None:
        resource_type, resource_id, resource_name = "Group", group.id, group.display_name
    else:
        resource_type, resource_id, resource_name = "", None, ""
    event_record(
        org=org,
        directory=directory,
        action=action,
        outcome=outcome,
        resource_type=resource_type,
        resource_id=resource_id,
        resource_name=resource_name,
        message=message,
        client=client,
        details=details,
        status_code=status_code,
    )


def user_create(
    *,
    org: Org,
    fields: UserFields,
    source: str = Source.MANUAL,
    directory: ScimDirectory | None = None,
    client: str = "",
) -> EndUser:
    """Create an end user, in one transaction with its event.

    userName is unique per org by its key, directory.names.user_name_key (Conflict
    otherwise: a case or compatibility variant of a taken name is taken). A user
    the IdP removed earlier under the "disable" policy comes back instead of a
    new row, so re-assigning someone in the IdP never hits a 409 loop. Active
    users get a seat while seats remain.
    """
    _user_check(fields=fields, directory=directory)
    try:
        with transaction.atomic():
            # At most one: the key is unique per org.
            existing = _USER_NAMED_LOCKED.first(org.pk, user_name_key(fields.user_name.strip()))
            if existing is not None:
                if existing.removed_by_idp_at is None:
                    raise Conflict(
                        f"A user with userName {fields.user_name!r} already exists",
                        field="userName",
                    )
                return _user_revive(
                    user=existing, fields=fields, source=source, directory=directory, client=client
                )
            _manager_check(org=org, manager_id=fields.manager_id, user_id=None)
            user = EndUser(org=org, directory=directory, source=source)
            for name in USER_FIELD_NAMES:
                setattr(user, name, getattr(fields, name))
            user.user_name = fields.user_name.strip()
            # A new user belongs to no group yet: under an access-group restriction it
            # starts outside, until a group push puts it in an allowed group.
            if _access_group_ids(org=org, directory=directory):
                user.access = EndUser.Access.NOT_IN_ACCESS_GROUPS
            # Written as seated, the seat taken last: taking it locks the org row until
            # COMMIT, and every create in the org queues on that lock, so it should be
            # held for as few statements as possible.
            if user.active:
                user.has_seat = True
                user.seat_changed_at = timezone.now()
            insert(user)
            for email in _email_rows(user):
                insert(email)
            if user.active and not _seat_take(org=org):
                user.has_seat = False
                user.seat_changed_at = None
                EndUser.objects.filter(pk=user.pk).update(has_seat=False, seat_changed_at=None)
            notes: list[str] = []
            details: dict[str, Any] = {}
            if user.active and not user.has_seat:
                notes.append("No seat left for this user")
                details["no_seat"] = True
            if user.access:
                notes.append("Not in the org's access groups (NOT_IN_ACCESS_GROUPS)")
                details["access"] = user.access
            _event(
                user=user,
                org=org,
                action=ProvisioningEvent.Action.USER_CREATE,
                directory=directory,
                client=client,
                message="; ".join(notes),
                details=details or None,
            )
            return user
    except IntegrityError:
        # A concurrent create of the same userName won the race.
        raise Conflict(
            f"A user with userName {fields.user_name!r} already exists", field="userName"
        ) from None


def _user_revive(
    *,
    user: EndUser,
    fields: UserFields,
    source: str,
    directory: ScimDirectory | None,
    client: str,
) -> EndUser:
    user.removed_by_idp_at = None
    user.active = False  # _user_apply sees the activation and assigns a seat
    change = _user_apply(
        user=user, fields=fields, directory=directory, client=client, source=source
    )
    return change.user


def user_update(
    *,
    user: EndUser,
    fields: UserFields,
    expected_version: Versions = None,
    directory: ScimDirectory | None = None,
    client: str = "",
) -> UserChange:
    """Replace every attribute of the user (SCIM PUT, or PATCH after it was applied).

    expected_version (If-Match) must match or VersionMismatch is raised. A userName
    change keeps the user and must stay unique. active true->false runs the SCIM
    directory's deprovisioning policy: disable (keep, free the seat) or delete.
    """
    org = user.org
    _user_check(fields=fields, directory=directory)
    try:
        with transaction.atomic():
            locked = EndUser.objects.select_for_update().get(pk=user.pk)
            _version_check(locked, expected_version)
            _manager_check(org=org, manager_id=fields.manager_id, user_id=locked.id)
            locked.org = org
            return _user_apply(user=locked, fields=fields, directory=directory, client=client)
    except IntegrityError:
        raise Conflict(
            f"A user with userName {fields.user_name!r} already exists", field="userName"
        ) from None


def user_patch(
    *,
    user: EndUser,
    patch: Callable[[EndUser], UserFields],
    expected_version: Versions = None,
    directory: ScimDirectory | None = None,
    client: str = "",
) -> UserChange:
    """Change a user by `patch`, which computes its new fields from the user as it is
    under the row lock (SCIM PATCH: the operations applied to the current resource), so
    two PATCHes never apply to the same old state. expected_version as in user_update."""
    with transaction.atomic():
        locked = EndUser.objects.select_for_update().get(pk=user.pk)
        _version_check(locked, expected_version)
        return user_update(user=locked, fields=patch(locked), directory=directory, client=client)


def _user_apply(
    *,
    user: EndUser,
    fields: UserFields,
    directory: ScimDirectory | None,
    client: str,
    source: str | None = None,
) -> UserChange:
    """Write `fields` over a locked user; the caller holds the transaction."""
    org = user.org
    was_active = user.active
    old_user_name = user.user_name
    new_user_name = fields.user_name.strip()
    new_key = user_name_key(new_user_name)
    if new_key != user.user_name_key:
        clash = org.users.filter(user_name_key=new_key).exclude(pk=user.pk).exists()
        # A user without a key (its name collided with an older user's when migration
        # 0009 introduced keys) that keeps its name stays as it was: updating or
        # deprovisioning it must not fail on the other user.
        still_colliding = user.user_name_key is None and new_key == user_name_key(old_user_name)
        if clash and not still_colliding:
            raise Conflict(
                f"A user with userName {new_user_name!r} already exists", field="userName"
            )
        if not clash:
            # Also gives such a user the key once it is free (renamed, or the other
            # user deleted); the field keeps it current from then on.
            user.user_name_key = new_key
    changed = [n for n in USER_FIELD_NAMES if getattr(user, n) != getattr(fields, n)]
    emails_changed = user.emails != fields.emails
    for name in USER_FIELD_NAMES:
        setattr(user, name, getattr(fields, name))
    user.user_name = new_user_name
    if directory is not None:
        # Whoever the IdP updates joins its directory (after a directory was deleted
        # and SCIM enabled again, existing users are linked, not duplicated).
        user.directory = directory
        user.source = Source.SCIM
    elif source is not None:
        user.source = source
    user.version += 1

    details: dict[str, Any] = {"changed": [n for n in changed if n != "active"]}
    if old_user_name != new_user_name:
        details["userName"] = {"old": old_user_name, "new": new_user_name}
    action = ProvisioningEvent.Action.USER_UPDATE
    outcome = ProvisioningEvent.Outcome.SUCCESS
    message = ""

    if was_active and not user.active:
        policy = directory.deprovision if directory is not None else "disable"
        if policy == ScimDirectory.Deprovision.DELETE:
            return _user_remove(
                user=user,
                directory=directory,
                client=client,
                message="Deactivated by the IdP; deleted by the org's deprovisioning policy",
            )
        action = ProvisioningEvent.Action.USER_DEACTIVATE
        outcome = ProvisioningEvent.Outcome.DISABLED
        message = "Deactivated by the IdP; kept as disabled"
        if user.has_seat:
            _seat_free(org=org, user=user)
    elif not was_active and user.active:
        action = ProvisioningEvent.Action.USER_REACTIVATE
        if not user.has_seat and _seat_take(org=org):
            user.has_seat = True
            user.seat_changed_at = timezone.now()
        if not user.has_seat:
            message = "No seat left for this user"
            details["no_seat"] = True

    user.save()
    if emails_changed:
        UserEmail.objects.filter(user=user).delete()
        UserEmail.objects.bulk_create(_email_rows(user))
    _event(
        user=user,
        org=org,
        action=action,
        outcome=outcome,
        directory=directory,
        client=client,
        message=message,
        details=details,
    )
    return UserChange(user=user, action=action)


def _user_remove(
    *, user: EndUser, directory: ScimDirectory | None, client: str, message: str
) -> UserChange:
    org = user.org
    if user.has_seat:
        _seat_free(org=org, user=user)
    _event(
        user=user,
        org=org,
        action=ProvisioningEvent.Action.USER_DELETE,
        directory=directory,
        client=client,
        message=message,
    )
    # Memberships and email rows go with the user (CASCADE, in the same transaction).
    EndUser.objects.filter(pk=user.pk).delete()
    return UserChange(user=user, action=ProvisioningEvent.Action.USER_DELETE, deleted=True)


def user_deprovision(
    *,
    user: EndUser,
    directory: ScimDirectory,
    expected_version: Versions = None,
    client: str = "",
) -> UserChange:
    """The IdP deleted the user (SCIM DELETE). Under the "delete" policy the user is
    removed; under "disable" it stays, disabled and marked removed by the IdP, and
    SCIM no longer sees it."""
    with transaction.atomic():
        locked = EndUser.objects.select_for_update().select_related("org").get(pk=user.pk)
        _version_check(locked, expected_version)
        if directory.deprovision == ScimDirectory.Deprovision.DELETE:
            return _user_remove(
                user=locked,
                directory=directory,
                client=client,
                message="Deleted by the IdP",
            )
        if locked.has_seat:
            _seat_free(org=locked.org, user=locked)
        locked.active = False
        locked.removed_by_idp_at = timezone.now()
        locked.version += 1
        locked.save()
        _event(
            user=locked,
            org=locked.org,
            action=ProvisioningEvent.Action.USER_DELETE,
            outcome=ProvisioningEvent.Outcome.DISABLED,
            directory=directory,
            client=client,
            message="Deleted by the IdP; kept as disabled (deprovisioning policy: disable)",
        )
        return UserChange(user=locked, action=ProvisioningEvent.Action.USER_DELETE)


def user_delete(*, user: EndUser, actor: Actor | None = None) -> None:
    """Delete a user permanently (an admin's decision, from the console or the API).
    Frees the user's seat for the longest-waiting user."""
    with transaction.atomic():
        locked = EndUser.objects.select_for_update().select_related("org").get(pk=user.pk)
        _user_remove(
            user=locked,
            directory=None,
            client=f"{actor.via}: {actor.who}" if actor else "",
            message=f"Deleted permanently by {actor.who}" if actor else "Deleted permanently",
        )
        audit_record(org=locked.org, actor=actor, action="user.delete", target=locked.user_name)


# Groups ------------------------------------------------------------------------


def _member_ids_parse(ids: list[str]) -> tuple[list[uuid.UUID], list[str]]:
    """The user ids among member values, and the values that are no user id at all.

    A value that is not a UUID names no user anywhere, so it is skipped (and the event
    says so) rather than failing the whole request: Okta retries a failed group push
    as a whole, and one stray value would block every real change with it."""
    parsed: list[uuid.UUID] = []
    skipped: list[str] = []
    for raw in ids:
        try:
            parsed.append(uuid.UUID(str(raw)))
        except ValueError:
            skipped.append(str(raw)[:100])
    return list(dict.fromkeys(parsed)), skipped


def _skipped_message(skipped: list[str]) -> str:
    if not skipped:
        return ""
    return "Skipped member values that are not user ids: " + ", ".join(skipped[:5])


def _member_ids_check(*, org: Org, ids: list[uuid.UUID]) -> None:
    """InvalidValue naming the user ids that are not users of this org (another org's
    users included), so a request can never reach across orgs."""
    if not ids:
        return
    found = set(
        org.users.filter(id__in=set(ids), removed_by_idp_at__isnull=True).values_list(
            "id", flat=True
        )
    )
    bad = [str(i) for i in ids if i not in found]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise InvalidValue(f"No user with id {shown} in this directory", field="members")


def _members_add(*, group: Group, user_ids: list[uuid.UUID]) -> int:
    if not user_ids:
        return 0
    existing = set(
        Membership.objects.filter(group=group, user_id__in=user_ids).values_list(
            "user_id", flat=True
        )
    )
    rows = [Membership(group=group, user_id=u) for u in user_ids if u not in existing]
    # ignore_conflicts: a concurrent PATCH may add the same member between our read
    # and our insert; the unique constraint makes the second insert a no-op.
    Membership.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    return len(rows)


def _members_remove(*, group: Group, user_ids: list[uuid.UUID] | None) -> int:
    q = Membership.objects.filter(group=group)
    if user_ids is not None:
        q = q.filter(user_id__in=user_ids)
    # Membership has no dependants, so Django deletes with one DELETE statement.
    deleted, _ = q.delete()
    return deleted


def _members_replace(*, group: Group, user_ids: list[uuid.UUID]) -> tuple[int, int]:
    keep = set(user_ids)
    current = set(Membership.objects.filter(group=group).values_list("user_id", flat=True))
    removed = _members_remove(group=group, user_ids=list(current - keep)) if current - keep else 0
    added = _members_add(group=group, user_ids=[u for u in user_ids if u not in current])
    return added, removed


def _group_name_check(*, display_name: str) -> str:
    name = display_name.strip()
    if not name:
        raise InvalidValue("displayName is required", field="displayName")
    if len(name) > 255:
        raise InvalidValue("displayName is longer than 255 characters", field="displayName")
    if len(display_name_key(name)) > USER_NAME_KEY_MAX_LENGTH:
        raise InvalidValue(
            f"displayName is longer than {USER_NAME_KEY_MAX_LENGTH} characters once case-folded",
            field="displayName",
        )
    return name


def group_create(
    *,
    org: Org,
    display_name: str,
    external_id: str = "",
    member_ids: list[str] | None = None,
    source: str = Source.MANUAL,
    directory: ScimDirectory | None = None,
    client: str = "",
) -> Group:
    """Create a group with its members, in one transaction with its event.

    displayName is unique per org by its key, directory.names.display_name_key (the
    userName rule). When a SCIM directory creates
    a group whose name matches a group of another source (made in the console, or
    left by a deleted directory), it takes that group over: same id, same members,
    now the directory's. A clash with a group the directory already owns is a Conflict.
    """
    name = _group_name_check(display_name=display_name)
    try:
        with transaction.atomic():
            members, skipped = _member_ids_parse(member_ids or [])
            _member_ids_check(org=org, ids=members)
            existing = (
                org.groups.select_for_update()
                .filter(display_name_key=display_name_key(name))
                .first()
            )
            if existing is not None:
                owned = directory is None or existing.directory_id == directory.id
                if owned:
                    raise Conflict(f"A group named {name!r} already exists", field="displayName")
                previous_source = existing.source
                existing.display_name = name
                existing.external_id = external_id
                existing.directory = directory
                existing.source = source
                existing.version += 1
                existing.save()
                added = _members_add(group=existing, user_ids=members)
                _event(
                    group=existing,
                    org=org,
                    action=ProvisioningEvent.Action.GROUP_CREATE,
                    directory=directory,
                    client=client,
                    message=f"Took over the existing {previous_source} group of the same name",
                    details={"takeover": True, "added": added}
                    | ({"skipped": skipped[:20]} if skipped else {}),
                )
                _access_refresh(
                    org=org, directory=directory, user_ids=members, changed_group=existing
                )
                return existing
            group = Group(
                org=org,
                display_name=name,
                external_id=external_id,
                source=source,
                directory=directory,
            )
            group.save(force_insert=True)
            added = _members_add(group=group, user_ids=members)
            _event(
                group=group,
                org=org,
                action=ProvisioningEvent.Action.GROUP_CREATE,
                directory=directory,
                client=client,
                message=_skipped_message(skipped),
                details=({"added": added} if added else {})
                | ({"skipped": skipped[:20]} if skipped else {}),
            )
            # A group made just now restricts nobody: it cannot be an access group yet.
            return group
    except IntegrityError:
        raise Conflict(f"A group named {name!r} already exists", field="displayName") from None


def group_update(
    *,
    group: Group,
    display_name: str | None = None,
    external_id: str | None = None,
    member_ops: list[tuple[str, list[str]]] | None = None,
    expected_version: Versions = None,
    directory: ScimDirectory | None = None,
    client: str = "",
) -> Group:
    """Rename a group and change its members, set-based, in one transaction.

    member_ops run in order; each is ("add", ids), ("remove", ids), ("replace", ids)
    or ("remove_all", []). Member ids must be users of the group's org (InvalidValue
    otherwise, and nothing changes). SCIM PUT is a rename plus ("replace", all ids).
    """
    org = group.org
    try:
        with transaction.atomic():
            locked = Group.objects.select_for_update().get(pk=group.pk)
            _version_check(locked, expected_version)
            parsed_ops: list[tuple[str, list[uuid.UUID]]] = []
            skipped: list[str] = []
            for op, ids in member_ops or []:
                user_ids, not_ids = _member_ids_parse(ids)
                parsed_ops.append((op, user_ids))
                skipped.extend(not_ids)
            # Members to add must be the org's users; removing anyone else is a no-op.
            _member_ids_check(
                org=org,
                ids=list(
                    dict.fromkeys(
                        u for op, ids in parsed_ops if op in ("add", "replace") for u in ids
                    )
                ),
            )
            details: dict[str, Any] = {}
            if skipped:
                details["skipped"] = skipped[:20]
            if display_name is not None:
                name = _group_name_check(display_name=display_name)
                new_key = display_name_key(name)
                if new_key != locked.display_name_key:
                    clash = (
                        org.groups.filter(display_name_key=new_key).exclude(pk=locked.pk).exists()
                    )
                    # As for users (_user_apply): a group left without a key by migration
                    # 0010 that keeps its name stays as it is, and takes the key once free.
                    still_colliding = locked.display_name_key is None and new_key == (
                        display_name_key(locked.display_name)
                    )
                    if clash and not still_colliding:
                        raise Conflict(
                            f"A group named {name!r} already exists", field="displayName"
                        )
                    if not clash:
                        locked.display_name_key = new_key
                if name != locked.display_name:
                    details["displayName"] = {"old": locked.display_name, "new": name}
                    locked.display_name = name
            if external_id is not None and external_id != locked.external_id:
                details["externalId"] = {"old": locked.external_id, "new": external_id}
                locked.external_id = external_id
            added = removed = 0
            touched: list[uuid.UUID] = []
            for op, user_ids in parsed_ops:
                touched.extend(user_ids)
                if op == "add":
                    added += _members_add(group=locked, user_ids=user_ids)
                elif op == "remove":
                    removed += _members_remove(group=locked, user_ids=user_ids)
                elif op == "remove_all":
                    removed += _members_remove(group=locked, user_ids=None)
                elif op == "replace":
                    a, r = _members_replace(group=locked, user_ids=user_ids)
                    added, removed = added + a, removed + r
                else:
                    raise InvalidValue(f"Unknown member operation {op!r}", field="members")
            if directory is not None:
                locked.directory = directory
                locked.source = Source.SCIM
            locked.version += 1
            locked.save()
            if added or removed:
                details.update(added=added, removed=removed)
            action = (
                ProvisioningEvent.Action.GROUP_MEMBERS
                if (added or removed) and set(details) <= {"added", "removed", "skipped"}
                else ProvisioningEvent.Action.GROUP_UPDATE
            )
            _event(
                group=locked,
                org=org,
                action=action,
                directory=directory,
                client=client,
                message=_skipped_message(skipped),
                details=details,
            )
            if added or removed:
                _access_refresh(org=org, directory=directory, user_ids=None, changed_group=locked)
            return locked
    except IntegrityError as e:
        raise _group_write_error(e, display_name) from None


def _group_write_error(e: IntegrityError, display_name: str | None) -> Conflict | InvalidValue:
    """What a constraint that failed under a concurrent write means for a group write.

    The checks before the write saw a consistent state; a constraint can still fail when
    another request changed things in between: a member deleted meanwhile (its foreign
    key), or another group renamed to the same name (the unique name)."""
    cause = e.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    diag = getattr(cause, "diag", None)
    constraint = str(getattr(diag, "constraint_name", "") or "") or str(e)
    if sqlstate == "23503" or "FOREIGN KEY" in constraint.upper():
        return InvalidValue(
            "A user added as a member was deleted while this request ran: nothing changed",
            field="members",
        )
    if "group_unique_displayname" in constraint and display_name is not None:
        return Conflict(f"A group named {display_name!r} already exists", field="displayName")
    return Conflict("The group changed while this request ran: nothing changed, retry")


def group_delete(
    *,
    group: Group,
    directory: ScimDirectory | None = None,
    expected_version: Versions = None,
    client: str = "",
) -> None:
    """Delete a group and its memberships (not its members)."""
    with transaction.atomic():
        locked = Group.objects.select_for_update().select_related("org").get(pk=group.pk)
        _version_check(locked, expected_version)
        _event(
            group=locked,
            org=locked.org,
            action=ProvisioningEvent.Action.GROUP_DELETE,
            directory=directory,
            client=client,
        )
        _members_remove(group=locked, user_ids=None)
        # Directories restricted to this group forget it (their cached tokens too).
        restricting = list(ScimDirectory.objects.filter(access_groups=locked))
        locked.delete()
        for d in restricting:
            _access_groups_forget(d)
            if directory is not None and directory.pk == d.pk:
                directory.__dict__.pop("access_group_ids", None)
        if restricting:
            _access_refresh(org=locked.org, directory=directory, user_ids=None)


def _access_groups_forget(directory: ScimDirectory) -> None:
    """Drop the directory's remembered access groups, here and in the token cache."""
    directory.__dict__.pop("access_group_ids", None)
    _forget_cached_tokens(directory)


def _access_group_ids(*, org: Org, directory: ScimDirectory | None) -> list[uuid.UUID]:
    """The groups that restrict access in the org (none: nobody is restricted)."""
    if directory is not None:
        return directory.access_group_ids
    return list(
        Group.objects.filter(
            org=org,
            pk__in=ScimDirectory.access_groups.through.objects.filter(
                scimdirectory__org=org, scimdirectory__deleted_at__isnull=True
            ).values("group_id"),
        ).values_list("id", flat=True)
    )


def _access_refresh(
    *,
    org: Org,
    directory: ScimDirectory | None,
    user_ids: list[uuid.UUID] | None,
    changed_group: Group | None = None,
) -> None:
    """Mark users outside the directory's access groups NOT_IN_ACCESS_GROUPS (and clear
    the mark for the rest). A directory without access groups restricts nobody.

    With `changed_group` (its members changed), only an access group's changes can move
    anyone in or out; any other group's are skipped without a scan of the org's users."""
    allowed = _access_group_ids(org=org, directory=directory)
    if changed_group is not None and changed_group.pk not in allowed:
        return
    users = org.users.all() if user_ids is None else org.users.filter(id__in=user_ids)
    if not allowed:
        if user_ids is None:
            users.exclude(access="").update(access="")
        return
    in_groups = Membership.objects.filter(group_id__in=allowed).values("user_id")
    users.filter(id__in=in_groups).exclude(access="").update(access="")
    users.exclude(id__in=in_groups).exclude(access=EndUser.Access.NOT_IN_ACCESS_GROUPS).update(
        access=EndUser.Access.NOT_IN_ACCESS_GROUPS
    )


# Directory policies --------------------------------------------------------------


@transaction.atomic
def scim_access_groups_set(
    *, org: Org, names: list[str], actor: Actor | None = None
) -> list[Group]:
    """Restrict access to members of these groups (by displayName, compared by
    directory.names.display_name_key);
    an empty list lifts the restriction. Users outside them are marked
    NOT_IN_ACCESS_GROUPS at once, and the mark clears as they join an allowed group."""
    directory = _live_directory_lock(org=org)
    wanted = {display_name_key(n.strip()): n.strip() for n in names if n.strip()}
    groups: list[Group] = list(org.groups.filter(display_name_key__in=list(wanted)))

    missing = set(wanted) - {g.display_name_key for g in groups}
    if missing:
        shown = ", ".join(repr(wanted[m]) for m in sorted(missing))
        raise InvalidValue(f"No group named {shown} in this org", field="access_groups")
    directory.access_groups.set(groups)
    _access_groups_forget(directory)
    _access_refresh(org=org, directory=directory, user_ids=None)
    audit_record(
        org=org,
        actor=actor,
        action="scim.access_groups",
        target=", ".join(g.display_name for g in groups) or "(none)",
    )
    return groups


@transaction.atomic
def scim_name_rule_set(*, org: Org, enabled: bool, actor: Actor | None = None) -> ScimDirectory:
    """Switch the optional rule that refuses `@ , # $ !` in name fields."""
    directory = _live_directory_lock(org=org)
    changed = directory.reject_special_characters != enabled
    directory.reject_special_characters = enabled
    directory.save(update_fields=["reject_special_characters"])
    _forget_cached_tokens(directory)
    if changed:
        audit_record(org=org, actor=actor, action="scim.name_rule", target=str(enabled).lower())
    return directory


@transaction.atomic
def seat_assign(*, user: EndUser, actor: Actor | None = None) -> EndUser:
    """Give an active user a seat; LimitReached when every seat is taken (revoke one
    from someone else first)."""
    locked = EndUser.objects.select_for_update().select_related("org").get(pk=user.pk)
    if locked.has_seat:
        return locked
    if not locked.active:
        raise PreconditionFailed("Only an active user can hold a seat")
    if not _seat_take(org=locked.org):
        raise LimitReached(
            f"All {locked.org.seats} seats of {locked.org.name} are taken: "
            "take one from another user first"
        )
    locked.has_seat = True
    locked.seat_changed_at = timezone.now()
    locked.save(update_fields=["has_seat", "seat_changed_at"])
    audit_record(org=locked.org, actor=actor, action="seat.assign", target=locked.user_name)
    return locked


@transaction.atomic
def seat_revoke(*, user: EndUser, actor: Actor | None = None) -> EndUser:
    """Take a user's seat away. The seat stays free for the admin to give to someone
    (it does not go to the waiting queue, or an admin could never move a seat)."""
    locked = EndUser.objects.select_for_update().select_related("org").get(pk=user.pk)
    if not locked.has_seat:
        return locked
    Org.objects.filter(pk=locked.org_id, seats_used__gt=0).update(seats_used=F("seats_used") - 1)
    locked.has_seat = False
    locked.seat_changed_at = timezone.now()
    locked.save(update_fields=["has_seat", "seat_changed_at"])
    audit_record(org=locked.org, actor=actor, action="seat.revoke", target=locked.user_name)
    return locked


def org_admin_summaries_set(*, org: Org, user: User, enabled: bool) -> OrgAdmin:
    """Opt an admin in or out of the org's hourly summary emails."""
    membership = OrgAdmin.objects.get(org=org, user=user)
    membership.summary_emails = enabled
    membership.save(update_fields=["summary_emails"])
    return membership
