"""End users: create, update, patch, deprovision and delete, each in one transaction
with its event; seats and access marks follow."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.audit import Actor, audit_record, system_actor
from directory.errors import Conflict, InvalidValue
from directory.models import (
    ChangeEvent,
    EndUser,
    Membership,
    Org,
    ProvisioningEvent,
    ScimDirectory,
    Source,
    UserEmail,
)
from directory.names import user_name_key
from directory.prepared import PreparedQuery, atomic_deferred, insert
from directory.selectors import users_of_org_by_name
from directory.services._common import Versions, _event, _version_check
from directory.services.access import _access_group_ids, _access_refresh
from directory.services.changes import Type, change_user, changes_forget_user
from directory.services.scim_requests import scim_requests_forget_user
from directory.services.seats import _seat_free, _seat_take
from directory.services.sessions import sessions_end
from directory.services.user_fields import (
    USER_FIELD_NAMES,
    UserFields,
    _user_check,
)


@dataclass(frozen=True)
class UserChange:
    """What a user write did: the user as saved, and whether deprovisioning deleted it."""

    user: EndUser
    action: str
    deleted: bool = False


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


# Runs on every create (directory.prepared: compiled once, not per call).
_USER_NAMED_LOCKED = PreparedQuery(
    lambda org_id, name: (
        users_of_org_by_name(org_id).select_for_update().filter(user_name_key=name)
    ),
    samples=(-7_000_001, "prepared-sample-user-name"),
)


def user_create(
    *,
    org: Org,
    fields: UserFields,
    source: str = Source.MANUAL,
    directory: ScimDirectory | None = None,
    actor: Actor,
    ldap_id: str | None = None,
) -> EndUser:
    """Create an end user, in one transaction with its event.

    userName is unique per org by its key, directory.names.user_name_key (Conflict
    otherwise: a case or compatibility variant of a taken name is taken). A user
    the IdP removed earlier under the "disable" policy comes back instead of a
    new row, so re-assigning someone in the IdP never hits a 409 loop; so does a
    user created just in time at a sign-in, when SCIM creates it; and a user synced
    from LDAP, which leaves its LDAP groups (SCIM wins: later LDAP runs leave it alone).
    `ldap_id` is the stable id of the LDAP entry a sync creates the user from. Active
    users get a seat while seats remain.
    """
    _user_check(fields=fields, directory=directory)
    insert_new = partial(
        _user_insert, org=org, fields=fields, source=source, directory=directory, actor=actor,
        ldap_id=ldap_id,
    )  # fmt: skip
    # The name is free, nearly always (an IdP looks it up first): the INSERT goes first,
    # in three round trips (directory.prepared.atomic_deferred). A taken name fails it and
    # rolls it back; then the careful way below reads the user holding the name first.
    with suppress(IntegrityError), atomic_deferred():
        return insert_new()
    taken = f"A user with userName {fields.user_name!r} already exists"
    try:
        with transaction.atomic():
            # At most one: the key is unique per org.
            existing = _USER_NAMED_LOCKED.first(org.pk, user_name_key(fields.user_name.strip()))
            if existing is not None:
                if existing.source == Source.JIT and directory is not None:
                    # Created at a sign-in before the IdP pushed it: SCIM takes the user
                    # over (same id, seat and groups) instead of answering 409 forever.
                    existing.org = org
                    return _user_apply(
                        user=existing, fields=fields, directory=directory, actor=actor
                    ).user
                if existing.source == Source.LDAP and directory is not None:
                    existing.org = org
                    return _user_take_from_ldap(
                        user=existing, fields=fields, directory=directory, actor=actor
                    )
                if existing.removed_by_idp_at is None:
                    raise Conflict(taken, field="userName")
                return _user_revive(
                    user=existing, fields=fields, source=source, directory=directory, actor=actor
                )
            return insert_new()
    except IntegrityError:
        # A concurrent create of the same userName won the race.
        raise Conflict(taken, field="userName") from None


def _user_insert(
    *,
    org: Org,
    fields: UserFields,
    source: str,
    directory: ScimDirectory | None,
    actor: Actor,
    ldap_id: str | None,
) -> EndUser:
    """The new user's rows, its seat, event and change events. The caller holds the
    transaction; a taken userName raises IntegrityError."""
    _manager_check(org=org, manager_id=fields.manager_id, user_id=None)
    user = EndUser(org=org, directory=directory, source=source, ldap_id=ldap_id)
    for name in USER_FIELD_NAMES:
        setattr(user, name, getattr(fields, name))
    user.user_name = fields.user_name.strip()
    # A new user belongs to no group yet: under an access-group restriction it
    # starts outside, until a group push puts it in an allowed group.
    if _access_group_ids(org=org, directory=directory):
        user.access = EndUser.Access.NOT_IN_ACCESS_GROUPS
    # Written as seated, with the records of a seated user, the seat taken last:
    # taking it locks the org row until COMMIT, and every create in the org queues on
    # that lock, so nothing but the COMMIT follows it (writing the records before it
    # took an Okta sync from 323 to 336 users/s, bench/README.md).
    if user.active:
        user.has_seat = True
        user.seat_changed_at = timezone.now()
    insert(user, defer=True)
    for email in _email_rows(user):
        insert(email, defer=True)
    _user_created_records(user=user, org=org, directory=directory, actor=actor)
    if user.active and not _seat_take(org=org):
        # Rare: no seat left. The records written for a seated user are replaced.
        user.has_seat, user.seat_changed_at = False, None
        EndUser.objects.filter(pk=user.pk).update(has_seat=False, seat_changed_at=None)
        for model in (ProvisioningEvent, ChangeEvent):
            model.objects.filter(org=org, resource_id=user.pk).delete()
        _user_created_records(user=user, org=org, directory=directory, actor=actor)
    return user


def _user_created_records(
    *, user: EndUser, org: Org, directory: ScimDirectory | None, actor: Actor
) -> None:
    """The new user's event and change events (user.created, seat.assigned)."""
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
        actor=actor,
        message="; ".join(notes),
        details=details or None,
    )
    types = [Type.USER_CREATED] + ([Type.SEAT_ASSIGNED] if user.has_seat else [])
    change_user(user=user, type=types)


def user_add(
    *, org: Org, email: str, given_name: str = "", family_name: str = "", actor: Actor
) -> EndUser:
    """An admin adds a person by hand (console or API): the email is the userName and
    the primary work email; the user is a manual entry of no directory."""
    return user_create(
        org=org,
        fields=UserFields(
            user_name=email,
            given_name=given_name,
            family_name=family_name,
            emails=[{"value": email, "type": "work", "primary": True}],
        ),
        source=Source.MANUAL,
        actor=actor,
    )


def _user_take_from_ldap(
    *, user: EndUser, fields: UserFields, directory: ScimDirectory, actor: Actor
) -> EndUser:
    """SCIM provisions a user that LDAP synced: SCIM's from now on (its id stays, so
    the SCIM id is its identity), out of its LDAP groups. The caller holds the
    transaction and the row lock."""
    if user.removed_by_idp_at is not None:
        user.removed_by_idp_at = None
        user.active = False  # _user_apply sees the activation and assigns a seat
    return _user_apply(user=user, fields=fields, directory=directory, actor=actor).user


def _user_revive(
    *,
    user: EndUser,
    fields: UserFields,
    source: str,
    directory: ScimDirectory | None,
    actor: Actor,
) -> EndUser:
    user.removed_by_idp_at = None
    user.active = False  # _user_apply sees the activation and assigns a seat
    change = _user_apply(user=user, fields=fields, directory=directory, actor=actor, source=source)
    return change.user


def user_update(
    *,
    user: EndUser,
    fields: UserFields,
    expected_version: Versions = None,
    directory: ScimDirectory | None = None,
    actor: Actor,
) -> UserChange:
    """Replace every attribute of the user (SCIM PUT, or PATCH after it was applied).

    expected_version (If-Match) must match or VersionMismatch is raised. A userName
    change keeps the user and must stay unique. active true->false runs the SCIM
    org's deprovisioning policy: disable (keep, free the seat) or delete.
    """
    org = user.org
    _user_check(fields=fields, directory=directory)
    try:
        with transaction.atomic():
            locked = EndUser.objects.select_for_update().get(pk=user.pk)
            _version_check(locked, expected_version)
            _manager_check(org=org, manager_id=fields.manager_id, user_id=locked.id)
            locked.org = org
            return _user_apply(user=locked, fields=fields, directory=directory, actor=actor)
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
    actor: Actor,
) -> UserChange:
    """Change a user by `patch`, which computes its new fields from the user as it is
    under the row lock (SCIM PATCH: the operations applied to the current resource), so
    two PATCHes never apply to the same old state. expected_version as in user_update."""
    with transaction.atomic():
        locked = EndUser.objects.select_for_update().get(pk=user.pk)
        _version_check(locked, expected_version)
        return user_update(user=locked, fields=patch(locked), directory=directory, actor=actor)


def _user_apply(
    *,
    user: EndUser,
    fields: UserFields,
    directory: ScimDirectory | None,
    actor: Actor,
    source: str | None = None,
    note: str = "",
) -> UserChange:
    """Write `fields` over a locked user; the caller holds the transaction. `note`
    starts the event's message."""
    org = user.org
    was_active = user.active
    # Deactivations a directory makes (SCIM's IdP, or an LDAP sync) follow the org's
    # policy; an admin's change disables.
    by = "the IdP" if directory is not None else "LDAP" if source == Source.LDAP else ""
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
    # SCIM writing to a user LDAP synced (a create of its userName, or an update after
    # the IdP found it by a filter) takes it over: it leaves its LDAP groups below, and
    # LDAP runs leave it alone from then on.
    from_ldap = directory is not None and user.source == Source.LDAP
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
        # The org's policy is for what its IdP deactivates; an admin's change disables.
        policy = org.deprovision if by else Org.Deprovision.DISABLE
        if policy == Org.Deprovision.DELETE:
            return _user_remove(
                user=user,
                directory=directory,
                actor=actor,
                message=f"Deactivated by {by}; deleted by the org's deprovisioning policy",
            )
        action = ProvisioningEvent.Action.USER_DEACTIVATE
        outcome = ProvisioningEvent.Outcome.DISABLED
        message = f"Deactivated by {by or 'the IdP'}; kept as disabled"
        if by:  # the grace period counts from the directory's deactivation
            user.disabled_at = timezone.now()
        if policy == Org.Deprovision.DISABLE_THEN_DELETE:
            message += f", deleted in {org.deprovision_grace_days} days unless reactivated"
        sessions_end([user.pk])  # signed out now, not at the session's end
        if user.has_seat:
            _seat_free(org=org, user=user)
    elif not was_active and user.active:
        action = ProvisioningEvent.Action.USER_REACTIVATE
        user.disabled_at = None
        if not user.has_seat and _seat_take(org=org):
            user.has_seat = True
            user.seat_changed_at = timezone.now()
        if not user.has_seat:
            message = "No seat left for this user"
            details["no_seat"] = True

    if from_ldap:
        left, _ = Membership.objects.filter(user=user, group__source=Source.LDAP).delete()
        if left:
            _access_refresh(org=org, directory=directory, user_ids=[user.id])
        note = f"Taken over from LDAP by SCIM; left {left} LDAP group(s)"
        details["takeover"] = "ldap"
    if note:
        message = f"{note}; {message}" if message else note
        details["note"] = note
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
        actor=actor,
        message=message,
        details=details,
    )
    _user_changes(user=user, action=action, details=details, emails_changed=emails_changed)
    return UserChange(user=user, action=action)


def _user_changes(
    *, user: EndUser, action: str, details: dict[str, Any], emails_changed: bool
) -> None:
    """The change events of _user_apply: user.updated (when something changed),
    user.deactivated or user.reactivated (and seat.assigned when a seat came with it;
    a freed seat's events are _seat_free's)."""
    changed = list(details.get("changed", []))
    if emails_changed and "emails" not in changed:
        changed.append("emails")
    if "userName" in details:
        changed.append("user_name")
    if action == ProvisioningEvent.Action.USER_DEACTIVATE:
        change_user(user=user, type=Type.USER_DEACTIVATED, changed=changed)
    elif action == ProvisioningEvent.Action.USER_REACTIVATE:
        types = [Type.USER_REACTIVATED] + ([Type.SEAT_ASSIGNED] if user.has_seat else [])
        change_user(user=user, type=types)
    elif changed:
        change_user(user=user, type=Type.USER_UPDATED, changed=changed)


def _user_remove(
    *, user: EndUser, directory: ScimDirectory | None, actor: Actor, message: str
) -> UserChange:
    org = user.org
    if user.has_seat:
        _seat_free(org=org, user=user)
    _event(
        user=user,
        org=org,
        action=ProvisioningEvent.Action.USER_DELETE,
        directory=directory,
        actor=actor,
        message=message,
    )
    change_user(user=user, type=Type.USER_DELETED)
    # Memberships and email rows go with the user (CASCADE, in the same transaction);
    # the provisioning log and the change feed keep no personal value of theirs.
    scim_requests_forget_user(user=user)
    changes_forget_user(user=user)
    EndUser.objects.filter(pk=user.pk).delete()
    return UserChange(user=user, action=ProvisioningEvent.Action.USER_DELETE, deleted=True)


def user_deprovision(
    *,
    user: EndUser,
    directory: ScimDirectory | None,
    expected_version: Versions = None,
    actor: Actor,
    by: str = "the IdP",
) -> UserChange:
    """The IdP deleted the user (SCIM DELETE), or it left the LDAP directory (`by`
    "LDAP", directory None). Under the org's "delete" policy the user is removed; under
    "disable" it stays, disabled and marked removed by the IdP, and SCIM no longer sees
    it."""
    with transaction.atomic():
        locked = EndUser.objects.select_for_update().select_related("org").get(pk=user.pk)
        _version_check(locked, expected_version)
        if locked.org.deprovision == Org.Deprovision.DELETE:
            return _user_remove(
                user=locked,
                directory=directory,
                actor=actor,
                message=f"Deleted by {by}",
            )
        sessions_end([locked.pk])
        was_active = locked.active
        if locked.has_seat:
            _seat_free(org=locked.org, user=locked)
        locked.active = False
        locked.removed_by_idp_at = timezone.now()
        locked.disabled_at = locked.disabled_at or locked.removed_by_idp_at
        locked.version += 1
        locked.save()
        message = f"Deleted by {by}; kept as disabled (deprovisioning policy: disable)"
        if locked.org.deprovision == Org.Deprovision.DISABLE_THEN_DELETE:
            days = locked.org.deprovision_grace_days
            message = f"Deleted by {by}; kept as disabled, deleted in {days} days"
        _event(
            user=locked,
            org=locked.org,
            action=ProvisioningEvent.Action.USER_DELETE,
            outcome=ProvisioningEvent.Outcome.DISABLED,
            directory=directory,
            actor=actor,
            message=message,
        )
        if was_active:
            change_user(user=locked, type=Type.USER_DEACTIVATED, removed_by_idp=True)
        return UserChange(user=locked, action=ProvisioningEvent.Action.USER_DELETE)


def user_delete(*, user: EndUser, actor: Actor) -> None:
    """Delete a user permanently (an admin's decision, from the console or the API).
    Frees the user's seat for the longest-waiting user."""
    with transaction.atomic():
        locked = EndUser.objects.select_for_update().select_related("org").get(pk=user.pk)
        _user_remove(
            user=locked,
            directory=None,
            actor=actor,
            message=f"Deleted permanently by {actor.who}",
        )
        audit_record(org=locked.org, actor=actor, action="user.delete", target=locked.user_name)


def users_grace_expired_delete(*, now: datetime | None = None) -> int:
    """Delete the users whose grace period has run out: deactivated by the IdP in an org
    whose policy is disable-then-delete, longer ago than the org's grace days, and not
    reactivated since. Each is removed like a deletion under the "delete" policy (seat
    freed, event recorded). Run by the scheduler (directory.schedule); returns how many."""
    now = now or timezone.now()
    deleted = 0
    actor = system_actor("deprovisioning grace period")
    orgs = Org.objects.filter(deprovision=Org.Deprovision.DISABLE_THEN_DELETE)
    for org in orgs:
        cutoff = now - timedelta(days=org.deprovision_grace_days)
        due = org.users.filter(active=False, disabled_at__lte=cutoff).values_list("pk", flat=True)
        for pk in list(due):
            with transaction.atomic():
                locked = (
                    EndUser.objects.select_for_update()
                    .select_related("org")
                    .filter(pk=pk, active=False, disabled_at__lte=cutoff)
                    .first()
                )
                if locked is None:  # reactivated or deleted meanwhile
                    continue
                _user_remove(
                    user=locked,
                    directory=locked.directory,
                    actor=actor,
                    message=(
                        f"Deleted {org.deprovision_grace_days} days after the IdP deactivated "
                        "it (deprovisioning policy: disable, then delete)"
                    ),
                )
                deleted += 1
    return deleted
