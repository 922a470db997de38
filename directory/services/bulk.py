"""Actions on a selection of users (the Users table's bulk actions): each user goes
through the service an admin's single action uses (seat_assign, seat_revoke,
user_delete), in a transaction of its own, so one refusal (no free seat) stops nothing
else and each change is audited as it would be one at a time."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from directory.audit import Actor, audit_record
from directory.errors import DirectoryError
from directory.models import EndUser, Org, Source
from directory.services.seats import seat_assign, seat_revoke
from directory.services.users import user_delete

# A selection is at most one page of the Users table.
BULK_MAX = 500


@dataclass
class BulkResult:
    """How many users the action changed, and why the others were left as they were."""

    done: int = 0
    skipped: list[str] = field(default_factory=list)


def _selected(org: Org, user_ids: Iterable[str]) -> list[EndUser]:
    ids = set()
    for raw in list(user_ids)[:BULK_MAX]:
        try:
            ids.add(uuid.UUID(str(raw)))
        except ValueError:
            continue  # not an id: no user of anyone's
    # Only the org's own users: another org's id selects nobody.
    return list(org.users.filter(id__in=ids).order_by("created_at", "id"))


def users_seat_assign(*, org: Org, user_ids: Iterable[str], actor: Actor) -> BulkResult:
    """Give each selected user of the org a seat, oldest first, while seats are free;
    users already seated count as done, disabled ones are skipped with the reason."""
    result = BulkResult()
    for user in _selected(org, user_ids):
        try:
            seat_assign(user=user, actor=actor)
        except DirectoryError as e:
            result.skipped.append(f"{user.user_name}: {e.message}")
            continue
        result.done += 1
    return result


def users_seat_revoke(*, org: Org, user_ids: Iterable[str], actor: Actor) -> BulkResult:
    """Take the seat of each selected user of the org (freed seats stay free for the
    admin to give)."""
    result = BulkResult()
    for user in _selected(org, user_ids):
        seat_revoke(user=user, actor=actor)
        result.done += 1
    return result


def users_delete_manual(*, org: Org, user_ids: Iterable[str], actor: Actor) -> BulkResult:
    """Delete permanently each selected user of the org that was added by hand; users
    the IdP or a sign-in created are skipped (their source would bring them back)."""
    result = BulkResult()
    for user in _selected(org, user_ids):
        if user.source != Source.MANUAL:
            result.skipped.append(
                f"{user.user_name}: added by {user.get_source_display()}, not by hand"
            )
            continue
        user_delete(user=user, actor=actor)
        result.done += 1
    return result


def users_export_record(*, org: Org, actor: Actor, what: str) -> None:
    """Audit that an admin exported users of the org (`what`: the filter or selection)."""
    audit_record(org=org, actor=actor, action="users.export", target=what)
