from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from directory import selectors
from directory.models import EndUser, Org, ProvisioningEvent
from directory.services import UserFields, event_record, org_admin_add, org_create, user_create
from tests.actors import OPERATOR

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


@pytest.fixture
def console(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def intruder(other_admin: User) -> Client:
    client = Client()
    client.force_login(other_admin)
    return client


def _events(org: Org, at: datetime, outcome: str, n: int, action: str = "user_create") -> None:
    with time_machine.travel(at, tick=False):
        for _ in range(n):
            event_record(org=org, action=action, outcome=outcome, actor=OPERATOR)


def _bars(page: str) -> dict[str, tuple[int, int]]:
    return {
        hour: (int(ok), int(bad))
        for hour, ok, bad in re.findall(
            r'<g class="bar" data-hour="([^"]+)" data-success="(\d+)" data-failure="(\d+)"',
            page,
        )
    }


def test_the_overview_counts_users_by_state_and_seats(console: Client, org: Org) -> None:
    small = org_create(slug="tiny", name="Tiny", seats=2)
    org_admin_add(org=small, email="alice@acme.example")
    for name in ("a", "b", "c"):
        user_create(org=small, fields=UserFields(user_name=f"{name}@tiny.example"), actor=OPERATOR)
    user_create(
        org=small, fields=UserFields(user_name="d@tiny.example", active=False), actor=OPERATOR
    )
    small.users.filter(user_name="a@tiny.example").update(last_signin_at=timezone.now())
    counts = selectors.org_overview(org=Org.objects.get(pk=small.pk))
    assert counts == selectors.OrgOverview(
        users_active=3,
        users_disabled=1,
        users_without_seat=1,
        users_never_signed_in=3,
        seats_used=2,
        seats_total=2,
    )
    page = console.get("/o/tiny/").content.decode()
    assert '<strong data-count="active">3</strong>' in page
    assert '<strong data-count="disabled">1</strong>' in page
    assert '<strong data-count="without-seat">1</strong>' in page
    assert '<strong data-count="never-signed-in">3</strong>' in page
    assert '<strong data-count="seats">2 of 2</strong>' in page
    assert 'href="/o/tiny/users/?seat=none"' in page
    assert EndUser.objects.filter(org=small, has_seat=False, active=True).count() == 1


def test_the_chart_has_one_bar_per_busy_hour_with_successes_and_failures(
    console: Client, org: Org
) -> None:
    _events(org, NOW - timedelta(minutes=10), "success", 3)  # this hour, 10:00
    _events(org, NOW - timedelta(minutes=5), "failure", 1)
    _events(org, NOW - timedelta(minutes=1), "disabled", 1, action="user_deactivate")
    _events(org, NOW - timedelta(hours=5), "failure", 2)  # 05:00
    _events(org, datetime(2026, 11, 17, 11, 0, tzinfo=UTC), "success", 1)  # the first hour
    _events(org, datetime(2026, 11, 17, 10, 59, 59, tzinfo=UTC), "success", 7)  # too old
    _events(org, NOW - timedelta(minutes=2), "success", 9, action="signin")  # not provisioning
    with time_machine.travel(NOW, tick=False):
        hours = selectors.event_activity_hourly(org=org, now=timezone.now())
        page = console.get("/o/acme/").content.decode()
    assert len(hours) == 168
    assert hours[0].hour == datetime(2026, 11, 17, 11, 0, tzinfo=UTC)
    assert hours[-1] == selectors.HourActivity(datetime(2026, 11, 24, 10, 0, tzinfo=UTC), 4, 1)
    assert _bars(page) == {
        "2026-11-24T10:00Z": (4, 1),
        "2026-11-24T05:00Z": (0, 2),
        "2026-11-17T11:00Z": (1, 0),
    }
    # The busiest hour (5 events) fills the 120 px plot: 4 successes are 96 px high.
    assert '<rect class="ok" x="668" y="34" width="3" height="96"/>' in page
    assert '<rect class="bad" x="668" y="10" width="3" height="24"/>' in page
    assert '<rect class="ok" x="0" y="106" width="3" height="24"/>' in page
    assert ">Wed 18</text>" in page  # the first midnight
    assert "5 succeeded" in page and "3 failed" in page


def test_the_chart_counts_the_hours_in_one_query(org: Org, django_assert_num_queries: Any) -> None:
    _events(org, NOW - timedelta(hours=1), "success", 2)
    with django_assert_num_queries(1):
        selectors.event_activity_hourly(org=org, now=NOW)


def test_an_org_without_events_shows_an_empty_chart(console: Client, org: Org) -> None:
    page = console.get("/o/acme/").content.decode()
    assert "No provisioning in the last 7 days." in page and _bars(page) == {}


def test_the_overview_is_the_org_home_and_in_the_main_nav(console: Client, org: Org) -> None:
    assert console.get("/", follow=True).request["PATH_INFO"] == "/o/acme/"
    page = console.get("/o/acme/users/").content.decode()
    assert re.search(r'<a href="/o/acme/"\s*>Overview</a>', page)
    home = console.get("/o/acme/").content.decode()
    assert 'href="/o/acme/" aria-current="page">Overview' in home


def test_another_orgs_admin_sees_no_overview(intruder: Client, org: Org, other_org: Org) -> None:
    user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    _events(org, timezone.now(), "failure", 4)
    assert intruder.get("/o/acme/").status_code == 404
    page = intruder.get("/o/globex/").content.decode()
    assert '<strong data-count="active">0</strong>' in page and _bars(page) == {}
    assert ProvisioningEvent.objects.filter(org=other_org).count() == 0
