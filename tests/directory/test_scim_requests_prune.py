from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from commandcenter.celery import app as celery_app
from directory.models import Org, ScimRequest
from directory.tasks import scim_requests_prune

NOW = datetime(2026, 12, 1, 3, 17, tzinfo=UTC)


def _request(org: Org | None, when: datetime) -> None:
    ScimRequest.objects.create(org=org, created_at=when, method="GET", path="/x", status=200)


def test_log_entries_past_the_orgs_retention_are_pruned_by_the_daily_task(
    org: Org, other_org: Org
) -> None:
    assert org.request_log_retention_days == 30
    _request(org, NOW - timedelta(days=31))
    _request(other_org, NOW - timedelta(days=30, seconds=1))
    _request(org, NOW - timedelta(days=29))
    with time_machine.travel(NOW, tick=False):
        assert scim_requests_prune() == 2
    assert list(ScimRequest.objects.values_list("org", flat=True)) == [org.pk]


def test_each_org_keeps_its_log_as_long_as_it_chose(org: Org, other_org: Org) -> None:
    Org.objects.filter(pk=org.pk).update(request_log_retention_days=7)
    Org.objects.filter(pk=other_org.pk).update(request_log_retention_days=90)
    _request(org, NOW - timedelta(days=8))
    _request(org, NOW - timedelta(days=6))
    _request(other_org, NOW - timedelta(days=89))
    _request(other_org, NOW - timedelta(days=91))
    with time_machine.travel(NOW, tick=False):
        assert scim_requests_prune.delay().get() == 2
    assert org.scim_requests.count() == 1
    assert other_org.scim_requests.get().created_at == NOW - timedelta(days=89)


def test_requests_to_unknown_directories_are_kept_a_week(org: Org) -> None:
    _request(None, NOW - timedelta(days=8))
    _request(None, NOW - timedelta(days=6))
    with time_machine.travel(NOW, tick=False):
        assert scim_requests_prune() == 1
    assert ScimRequest.objects.filter(org=None).count() == 1


def test_beat_prunes_the_log_daily() -> None:
    entry = celery_app.conf.beat_schedule["scim-requests-prune-daily"]
    assert entry["task"] == "directory.tasks.scim_requests_prune"
    assert len(entry["schedule"].hour) == 1 and len(entry["schedule"].minute) == 1
