"""The daily prunes delete in batches of their own transactions (directory.batches): a
prune of more rows than a batch deletes them all, and one stopped halfway keeps what it
deleted, leaves the change feed whole and is finished by the next run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import QuerySet

from directory import batches
from directory.audit import Actor
from directory.change_feed import Cursor, CursorGone, change_feed
from directory.models import ChangeEvent, Org, ProvisioningEvent, ScimRequest
from directory.services import event_record
from directory.services.changes import change_anonymous, changes_prune
from directory.services.scim_requests import scim_requests_prune
from directory.summaries import events_prune

NOW = datetime(2026, 12, 1, 3, 17, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
ACTOR = Actor(who="okta")


def _rows(org: Org, at: datetime, n: int, name: str = "old") -> None:
    with time_machine.travel(at, tick=False):
        for i in range(n):
            ScimRequest.objects.create(org=org, created_at=at, method="GET", path="/x", status=200)
            event_record(org=org, actor=ACTOR, action="user_create", outcome="success")
            change_anonymous(org=org, type="signin.refused", user_name=f"{name}{i}")


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "PRUNE_BATCH", 2)


@pytest.mark.usefixtures("small_batches")
def test_a_prune_of_more_rows_than_a_batch_deletes_them_all(org: Org, other_org: Org) -> None:
    _rows(org, OLD, 5)
    _rows(other_org, OLD, 4)  # an exact number of batches
    _rows(org, NOW - timedelta(hours=1), 1)
    with time_machine.travel(NOW, tick=False):
        assert scim_requests_prune() == 9
        assert events_prune() == 9
        assert changes_prune() == 9
    for model in (ScimRequest, ProvisioningEvent, ChangeEvent):
        assert list(model.objects.values_list("org", flat=True)) == [org.pk]


@pytest.mark.usefixtures("small_batches")
def test_a_prune_stopped_halfway_keeps_the_feed_whole_and_the_next_run_ends_it(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rows(org, OLD, 5)
    _rows(org, NOW - timedelta(hours=1), 1, name="recent")
    before = change_feed(org=org, after=Cursor(), limit=1).cursor
    delete, calls = QuerySet.delete, []

    def dies_at_the_second_batch(qs: QuerySet[Any]) -> tuple[int, dict[str, int]]:
        calls.append(qs.model)
        if len(calls) == 2:
            raise RuntimeError("the worker was killed")
        return delete(qs)

    monkeypatch.setattr(QuerySet, "delete", dies_at_the_second_batch)
    with time_machine.travel(NOW, tick=False), pytest.raises(RuntimeError):
        changes_prune()
    assert ChangeEvent.objects.filter(org=org).count() == 4  # the first batch went
    org.refresh_from_db()
    # The horizon moved first: an old cursor is gone, and reading on from the horizon
    # gives the recent change only, not what the stopped prune left behind it.
    with pytest.raises(CursorGone) as gone:
        change_feed(org=org, after=before)
    after = change_feed(org=org, after=gone.value.oldest).changes
    assert [c.data["userName"] for c in after] == ["recent0"]
    monkeypatch.setattr(QuerySet, "delete", delete)
    with time_machine.travel(NOW, tick=False):
        assert changes_prune() == 3
    assert ChangeEvent.objects.filter(org=org).count() == 1
