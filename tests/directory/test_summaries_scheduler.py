"""The embedded scheduler: beat's schedule (directory.schedule) without Celery, for
`manage.py serve`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from directory.models import Org, ProvisioningEvent, SummaryLog
from directory.schedule import EVENTS_PRUNE, SUMMARIES
from directory.scheduler import Scheduler, next_run_at
from directory.services import event_record
from tests.actors import OPERATOR
from tests.directory.test_summaries import FlakyBackend

H = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_the_scheduler_runs_five_seconds_past_every_hour() -> None:
    assert next_run_at(now=H + timedelta(minutes=59), failures=0) == H + timedelta(
        hours=1, seconds=5
    )
    assert next_run_at(now=H + timedelta(seconds=5), failures=0) == H + timedelta(
        hours=1, seconds=5
    )


def test_after_failed_runs_the_scheduler_retries_with_backoff_until_the_next_hour() -> None:
    now = H + timedelta(seconds=5)
    delays = [next_run_at(now=now, failures=n) - now for n in range(1, 7)]
    # After the last of the send task's retries, the next hourly run (as with a worker).
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 60)]
    late = H + timedelta(minutes=55)
    assert next_run_at(now=late, failures=5) == H + timedelta(hours=1, seconds=5)


@pytest.mark.django_db(transaction=True)  # run_once drops connections, as a long-lived process
def test_the_scheduler_sends_the_due_summaries_and_retries_those_that_failed(
    org: Org, admin: Any, settings: Any
) -> None:
    with time_machine.travel(H + timedelta(minutes=7), tick=False):
        event_record(
            org=org,
            action=ProvisioningEvent.Action.USER_CREATE,
            outcome=ProvisioningEvent.Outcome.SUCCESS,
            resource_type="User",
            resource_name="new@acme.example",
            actor=OPERATOR,
        )
    settings.EMAIL_BACKEND = "tests.directory.test_summaries.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.sent = 1, 0
    said: list[str] = []
    scheduler = Scheduler(say=said.append)
    with time_machine.travel(H + timedelta(hours=1, seconds=5), tick=False):
        assert scheduler.run_once() is False
        assert said == ["Scheduler: 1 summary email(s) not sent yet, will retry"]
    with time_machine.travel(H + timedelta(hours=1, minutes=1, seconds=5), tick=False):
        assert scheduler.run_once() is True
        assert scheduler.run_once() is True
    assert FlakyBackend.sent == 1
    assert SummaryLog.objects.get().recipients == 1
    assert mail.outbox == []  # FlakyBackend sent it


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_prunes_old_events_once_a_day(org: Org, settings: Any) -> None:
    settings.EVENT_RETENTION_DAYS = 1
    with time_machine.travel(H - timedelta(days=3), tick=False):
        event_record(org=org, action="request", outcome="failure", actor=OPERATOR)
    scheduler = Scheduler(say=lambda text: None)
    with time_machine.travel(H, tick=False):
        assert scheduler.run_once() is True
    assert not org.events.exists()
    assert scheduler.last_run[EVENTS_PRUNE.name] == H
    with time_machine.travel(H + timedelta(hours=1, seconds=5), tick=False):
        scheduler.run_once()
    assert scheduler.last_run[EVENTS_PRUNE.name] == H
    assert scheduler.last_run[SUMMARIES.name] == H + timedelta(hours=1, seconds=5)
