"""Deleting many old rows without one long transaction.

The daily prunes delete by age. On the day a first sync of millions of users turns 30 days
old, one DELETE would remove tens of millions of log rows in a single transaction: hours
of holding back vacuum on every table, a WAL spike replicas lag behind, and the change
feed's horizon (directory.change_feed) stuck behind it. delete_batched() removes them a
batch at a time instead, each batch a statement and a transaction of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

PRUNE_BATCH = 5_000


def delete_batched(queryset: QuerySet[Any], *, order: Sequence[str]) -> int:
    """Delete the rows of `queryset`, PRUNE_BATCH at a time in `order` (which an index
    of the filter should serve: each batch then reads only the rows it deletes), each
    batch committed on its own unless the caller holds a transaction. Returns how many
    were deleted. The model must be one Django deletes without collecting rows (no
    cascades, no delete signals): each batch is then one DELETE."""
    model, deleted = queryset.model, 0
    while True:
        pks = list(queryset.order_by(*order).values_list("pk", flat=True)[:PRUNE_BATCH])
        if pks:
            count, _ = model._base_manager.filter(pk__in=pks).delete()
            deleted += count
        if len(pks) < PRUNE_BATCH:
            return deleted
