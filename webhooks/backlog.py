"""The webhook backlog, for operators' metrics: how many endpoints have changes waiting,
how many are failing and since when. One aggregate query over the endpoints (a handful
per org), whose "behind" test is an index lookup per endpoint (change_org_order)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from directory.models import ChangeEvent
from webhooks.models import WebhookEndpoint


@dataclass(frozen=True)
class Backlog:
    enabled: int
    disabled: int
    behind: int  # enabled, with changes after their cursor
    failing: int  # enabled, held at a change that failed
    oldest_failure_seconds: float  # how long the longest-failing one has been failing


def webhook_backlog(*, now: datetime | None = None) -> Backlog:
    now = now or timezone.now()
    waiting = ChangeEvent.objects.filter(org=OuterRef("org")).filter(
        Q(txid__gt=OuterRef("cursor_txid"))
        | Q(txid=OuterRef("cursor_txid"), id__gt=OuterRef("cursor_id"))
    )
    on = Q(enabled=True)
    row = WebhookEndpoint.objects.aggregate(
        # Named apart from the fields the filters read.
        n_enabled=Count("pk", filter=on),
        n_disabled=Count("pk", filter=~on),
        n_behind=Count("pk", filter=on & Q(Exists(waiting))),
        n_failing=Count("pk", filter=on & Q(failing_since__isnull=False)),
        oldest=Min("failing_since", filter=on),
    )
    oldest = row["oldest"]
    return Backlog(
        enabled=row["n_enabled"],
        disabled=row["n_disabled"],
        behind=row["n_behind"],
        failing=row["n_failing"],
        oldest_failure_seconds=(now - oldest).total_seconds() if oldest else 0.0,
    )
