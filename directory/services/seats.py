"""Seats: taken by active users while the org has some free, freed to the
longest-waiting user, moved by an admin."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from directory.audit import Actor, audit_record
from directory.errors import LimitReached, PreconditionFailed
from directory.models import EndUser, Org
from directory.prepared import PreparedUpdate
from directory.services.changes import Type, change_user
from directory.services.sessions import sessions_end

# Runs on every create (directory.prepared: compiled once, not per call).
_SEAT_TAKE = PreparedUpdate(
    lambda org_id: (
        Org.objects.filter(pk=org_id, seats_used__lt=F("seats")),
        {"seats_used": F("seats_used") + 1},
    ),
    samples=(-7_000_001,),
)


def _seat_take(*, org: Org) -> bool:
    """Take a free seat of the org if there is one. The conditional UPDATE locks the
    org row until commit, so concurrent writers count seats one at a time."""
    return _SEAT_TAKE.run(org.pk) == 1


def _seat_free(*, org: Org, user: EndUser) -> EndUser | None:
    """Release the user's seat and hand it to the longest-waiting active user, with
    their change events (seat.freed, seat.assigned).

    Returns the user who received it, if any."""
    user.has_seat = False
    user.seat_changed_at = timezone.now()
    change_user(user=user, type=Type.SEAT_FREED)
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
    waiting.has_seat, waiting.seat_changed_at = True, user.seat_changed_at
    change_user(user=waiting, type=Type.SEAT_ASSIGNED)
    return waiting


@transaction.atomic
def seat_assign(*, user: EndUser, actor: Actor) -> EndUser:
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
    change_user(user=locked, type=Type.SEAT_ASSIGNED)
    audit_record(org=locked.org, actor=actor, action="seat.assign", target=locked.user_name)
    return locked


@transaction.atomic
def seat_revoke(*, user: EndUser, actor: Actor) -> EndUser:
    """Take a user's seat away. The seat stays free for the admin to give to someone
    (it does not go to the waiting queue, or an admin could never move a seat)."""
    locked = EndUser.objects.select_for_update().select_related("org").get(pk=user.pk)
    if not locked.has_seat:
        return locked
    Org.objects.filter(pk=locked.org_id, seats_used__gt=0).update(seats_used=F("seats_used") - 1)
    locked.has_seat = False
    locked.seat_changed_at = timezone.now()
    locked.save(update_fields=["has_seat", "seat_changed_at"])
    change_user(user=locked, type=Type.SEAT_FREED)
    sessions_end([locked.pk])  # no seat, no sign-in: signed out now
    audit_record(org=locked.org, actor=actor, action="seat.revoke", target=locked.user_name)
    return locked
