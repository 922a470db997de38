from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from commandcenter.celery import app as celery_app
from directory.models import Org, ScimRequest
from directory.tasks import scim_requests_prune

NOW = datetime(2026, 12, 1, 3, 17, tzinfo=UTC)


def _request(org: Org, when: datetime) -> None:
    ScimRequest.objects.create(org=org, created_at=when, method="GET", path="/x", status=200)


def test_log_entries_past_the_retention_are_pruned_by_the_daily_task(
    org: Org, other_org: Org, settings: Any
) -> None:
    assert settings.SCIM_REQUEST_RETENTION_DAYS == 30
    _request(org, NOW - timedelta(days=31))
    _request(other_org, NOW - timedelta(days=30, seconds=1))
    _request(org, NOW - timedelta(days=29))
    with time_machine.travel(NOW, tick=False):
        assert scim_requests_prune() == 2
    assert list(ScimRequest.objects.values_list("org", flat=True)) == [org.pk]


def test_the_retention_is_a_setting(org: Org, settings: Any) -> None:
    settings.SCIM_REQUEST_RETENTION_DAYS = 7
    _request(org, NOW - timedelta(days=8))
    _request(org, NOW - timedelta(days=6))
    with time_machine.travel(NOW, tick=False):
        assert scim_requests_prune.delay().get() == 1
    assert org.scim_requests.count() == 1


def test_beat_prunes_the_log_daily() -> None:
    entry = celery_app.conf.beat_schedule["scim-requests-prune-daily"]
    assert entry["task"] == "directory.tasks.scim_requests_prune"
    assert len(entry["schedule"].hour) == 1 and len(entry["schedule"].minute) == 1
