"""Reading the change feed: an org's change events in order, from a cursor.

The order is (txid, id). On Postgres txid is the id of the transaction that wrote the
event, and the feed only hands out events of transactions that are over: those below
the snapshot's xmin, the oldest transaction still running (and the reader's own). A
transaction that started earlier but commits later can therefore never land behind a
cursor already handed out: nothing is missed, nothing repeated. SQLite's writers take
turns, so its txid is 0 and id order is commit order.

A cursor is "<txid>.<id>" of the last event read; "" is the beginning."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from directory.errors import DirectoryError, InvalidValue
from directory.models import ChangeEvent, Org

MAX_LIMIT = 1000


@dataclass(frozen=True, order=True)
class Cursor:
    txid: int = 0
    id: int = 0

    def __str__(self) -> str:
        return f"{self.txid}.{self.id}" if self.id else ""

    @classmethod
    def parse(cls, text: str) -> Cursor:
        if not text:
            return cls()
        try:
            txid, pk = (int(part) for part in text.split("."))
        except ValueError:
            raise InvalidValue(
                f"{text[:40]!r} is not a cursor of this feed", field="after"
            ) from None
        if txid < 0 or pk < 0 or max(txid, pk) >= 2**63:
            raise InvalidValue(f"{text[:40]!r} is not a cursor of this feed", field="after")
        return cls(txid, pk)

    @classmethod
    def of(cls, change: ChangeEvent) -> Cursor:
        return cls(change.txid, change.pk)


class CursorGone(DirectoryError):
    """The cursor points before events the org no longer keeps (410); `oldest` is the
    cursor to resume from, knowing what was pruned is lost."""

    code = "gone"

    def __init__(self, oldest: Cursor) -> None:
        super().__init__(
            "This cursor is older than the events kept: resume from the oldest cursor "
            "still valid (what came before it was pruned)"
        )
        self.oldest = oldest


def _horizon() -> Q:
    """Events of finished transactions only (and of this one)."""
    if connection.vendor != "postgresql":
        return Q()
    with connection.cursor() as c:
        c.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
            "pg_current_xact_id_if_assigned()::text::bigint"
        )
        xmin, own = c.fetchone()
    return Q(txid__lt=xmin) | Q(txid=own) if own is not None else Q(txid__lt=xmin)


@dataclass(frozen=True)
class FeedPage:
    changes: list[ChangeEvent]
    cursor: Cursor  # to read on from: the last event read's, or `after` if none
    more: bool  # the page was full: there may be more to read now


def change_feed(
    *,
    org: Org,
    after: Cursor,
    limit: int = 100,
    types: list[str] | None = None,
) -> FeedPage:
    """Up to `limit` of the org's events after `after`, in order. `types` keeps only
    those types (the cursor still moves past the others). CursorGone when `after` is
    older than what the org keeps."""
    pruned = Cursor(org.changes_pruned_txid, org.changes_pruned_id)
    if after < pruned:
        raise CursorGone(pruned)
    limit = max(1, min(limit, MAX_LIMIT))
    rows: QuerySet[ChangeEvent] = ChangeEvent.objects.filter(
        Q(txid__gt=after.txid) | Q(txid=after.txid, id__gt=after.id), _horizon(), org=org
    ).order_by("txid", "id")
    read = list(rows[:limit])
    cursor = Cursor.of(read[-1]) if read else after
    more = len(read) == limit
    if types:
        read = [c for c in read if c.type in types]
    return FeedPage(read, cursor, more)


def change_payload(change: ChangeEvent, *, org_slug: str) -> dict[str, object]:
    """The event as the feed and webhooks send it (Standard Webhooks' envelope:
    type, timestamp, data)."""
    return {
        "type": change.type,
        "timestamp": change.created_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "id": f"msg_{change.uid.hex}",
            "cursor": str(Cursor.of(change)),
            "org": org_slug,
            "resource_type": change.resource_type,
            "resource_id": str(change.resource_id) if change.resource_id else None,
            **change.data,
        },
    }
