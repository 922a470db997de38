"""Change events: what changed in an org's directory, with the resource's state after
the change, for webhooks and the change feed (directory.change_feed).

Not audited writes of their own: each is written by the service that made the change,
inside that change's transaction, so a change and its event commit (or roll back)
together."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from directory.audit import Actor, audit_record
from directory.batches import delete_batched
from directory.errors import InvalidValue
from directory.models import ChangeEvent, EndUser, Group, Org, ScimDirectory
from directory.prepared import insert_all

Type = ChangeEvent.Type

# A membership change of more users than this is several events, each naming at most
# this many (a 50,000-member replace is 50 events, not one of megabytes).
MEMBERS_PER_EVENT = 1000


def user_state(user: EndUser) -> dict[str, Any]:
    """A user as change events carry it (SCIM's names, the directory's own flags)."""
    return {
        "id": str(user.pk),
        "userName": user.user_name,
        "externalId": user.external_id,
        "active": user.active,
        "displayName": user.display_name,
        "name": {"givenName": user.given_name, "familyName": user.family_name},
        "emails": user.emails,
        "title": user.title,
        "department": user.department,
        "source": user.source,
        "hasSeat": user.has_seat,
        "access": "denied" if user.access else "granted",
    }


def group_state(group: Group) -> dict[str, Any]:
    return {
        "id": str(group.pk),
        "displayName": group.display_name,
        "externalId": group.external_id,
        "source": group.source,
    }


def directory_state(directory: ScimDirectory) -> dict[str, Any]:
    return {"id": str(directory.pk), "enabled": directory.enabled}


def _write(
    *,
    org_id: int,
    types: Sequence[str],
    resource_type: str,
    resource_id: uuid.UUID | None,
    data: dict[str, Any],
) -> None:
    """One event per type, all with `data`, in one INSERT (or queued, directory.prepared)."""
    insert_all(
        [
            ChangeEvent(
                org_id=org_id,
                type=type,
                resource_type=resource_type,
                resource_id=resource_id,
                data=data,
            )
            for type in types
        ]
    )


def change_user(*, user: EndUser, type: str | Sequence[str], **extra: Any) -> None:
    """Record a change of `user` (user.*, seat.*, access.*, signin.*), or several at once
    (a user created with a seat: ["user.created", "seat.assigned"])."""
    _write(
        org_id=user.org_id,
        types=[type] if isinstance(type, str) else type,
        resource_type="User",
        resource_id=user.pk,
        data={"object": user_state(user), **extra},
    )


def change_anonymous(*, org: Org, type: str, user_name: str, **extra: Any) -> None:
    """A change about no user of the directory (a sign-in refused for a name it does
    not know)."""
    _write(
        org_id=org.pk,
        types=[type],
        resource_type="",
        resource_id=None,
        data={"userName": user_name, **extra},
    )


def change_group(*, group: Group, type: str, **extra: Any) -> None:
    _write(
        org_id=group.org_id,
        types=[type],
        resource_type="Group",
        resource_id=group.pk,
        data={"object": group_state(group), **extra},
    )


def change_members(
    *, group: Group, added: Sequence[uuid.UUID], removed: Sequence[uuid.UUID]
) -> None:
    """group.members_removed, then group.members_added, MEMBERS_PER_EVENT ids each."""
    rows = []
    for type, ids in ((Type.GROUP_MEMBERS_REMOVED, removed), (Type.GROUP_MEMBERS_ADDED, added)):
        for start in range(0, len(ids), MEMBERS_PER_EVENT):
            rows.append(
                ChangeEvent(
                    org_id=group.org_id,
                    type=type,
                    resource_type="Group",
                    resource_id=group.pk,
                    data={
                        "object": group_state(group),
                        "userIds": [str(i) for i in ids[start : start + MEMBERS_PER_EVENT]],
                    },
                )
            )
    ChangeEvent.objects.bulk_create(rows, batch_size=500)


def change_access(
    *, org: Org, granted: Iterable[tuple[uuid.UUID, str]], denied: Iterable[tuple[uuid.UUID, str]]
) -> None:
    """access.granted / access.denied for users whose access changed, given as
    (id, userName): an access-group change can move thousands at once, so the events
    carry the user's id and name, not their whole state."""
    rows = [
        ChangeEvent(
            org_id=org.pk,
            type=type,
            resource_type="User",
            resource_id=user_id,
            data={"object": {"id": str(user_id), "userName": user_name}},
        )
        for type, users in ((Type.ACCESS_GRANTED, granted), (Type.ACCESS_DENIED, denied))
        for user_id, user_name in users
    ]
    ChangeEvent.objects.bulk_create(rows, batch_size=1000)


def change_directory(*, directory: ScimDirectory, type: str) -> None:
    _write(
        org_id=directory.org_id,
        types=[type],
        resource_type="Directory",
        resource_id=directory.pk,
        data={"object": directory_state(directory)},
    )


def changes_forget_user(*, user: EndUser) -> int:
    """Remove the personal values of a user deleted permanently from the stored events
    about them: each keeps its type, time and the user's id. Returns how many changed."""
    return ChangeEvent.objects.filter(org_id=user.org_id, resource_id=user.pk).update(
        data={"object": {"id": str(user.pk)}, "redacted": True}
    )


MAX_RETENTION_DAYS = 365


def changes_retention_set(*, org: Org, days: int, actor: Actor) -> Org:
    """How long the org's change feed keeps its changes (1 to MAX_RETENTION_DAYS); a
    consumer or webhook endpoint behind by more loses what was pruned."""
    if isinstance(days, bool) or not 1 <= days <= MAX_RETENTION_DAYS:
        raise InvalidValue(
            f"The change feed keeps changes 1 to {MAX_RETENTION_DAYS} days",
            field="change_retention_days",
        )
    org.change_retention_days = days
    org.save(update_fields=["change_retention_days"])
    audit_record(org=org, actor=actor, action="org.change_retention", target=f"{days} days")
    return org


def changes_prune(*, now: datetime | None = None) -> int:
    """Delete each org's change events older than its change_retention_days, and
    remember the last one deleted, so a cursor from before it answers 410."""
    now = now or timezone.now()
    deleted = 0
    for org in Org.objects.only("pk", "change_retention_days"):
        old = ChangeEvent.objects.filter(
            org=org, created_at__lt=now - timedelta(days=org.change_retention_days)
        )
        last = old.order_by("-txid", "-id").values_list("txid", "id").first()
        if last is None:
            continue
        # Everything at or before the last old one in feed order goes with it, so the
        # feed keeps no hole behind the horizon. The horizon moves first: a cursor
        # behind it answers 410 from now on, and a prune stopped halfway (its batches
        # commit one by one, directory.batches) leaves only rows no cursor reads.
        txid, pk = last
        Org.objects.filter(pk=org.pk).update(changes_pruned_txid=txid, changes_pruned_id=pk)
        deleted += delete_batched(
            ChangeEvent.objects.filter(Q(txid__lt=txid) | Q(txid=txid, id__lte=pk), org=org),
            order=["txid", "id"],
        )
    return deleted
