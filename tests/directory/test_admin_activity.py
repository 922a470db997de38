from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.test import Client

from directory import selectors
from directory.models import Org
from directory.services import UserFields, event_record, user_create
from tests.actors import OPERATOR

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@example.com", "ops@example.com", "x"))
    return client


def _events(org: Org, at: datetime, outcome: str, n: int, action: str = "user_create") -> None:
    with time_machine.travel(at, tick=False):
        for _ in range(n):
            event_record(org=org, action=action, outcome=outcome, actor=OPERATOR)


def test_operators_see_activity_across_every_org(
    operator: Client, org: Org, other_org: Org
) -> None:
    user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    _events(org, NOW - timedelta(minutes=20), "success", 2)
    _events(other_org, NOW - timedelta(minutes=10), "failure", 3)
    _events(other_org, NOW - timedelta(hours=2), "disabled", 1, action="user_deactivate")
    _events(org, NOW - timedelta(minutes=5), "success", 4, action="signin")
    _events(org, NOW - timedelta(days=8), "failure", 5)  # before the window
    with time_machine.travel(NOW, tick=False):
        page = operator.get("/admin/activity/").content.decode()
        hours = selectors.event_activity_hourly_all(now=NOW)
    assert hours[-1] == selectors.HourActivity(datetime(2026, 11, 24, 10, tzinfo=UTC), 2, 3)
    bars = re.findall(r'data-hour="([^"]+)" data-success="(\d+)" data-failure="(\d+)"', page)
    assert bars == [("2026-11-24T08:00Z", "1", "0"), ("2026-11-24T10:00Z", "2", "3")]
    rows = dict(re.findall(r'<tr data-org="(\w+)">(.*?)</tr>', page))
    assert re.findall(r"<td>(.*?)</td>", rows["acme"]) == ["1", "1 of 10", "2", "0"]
    assert re.findall(r"<td>(.*?)</td>", rows["globex"]) == ["0", "0 of 10", "1", "3"]


def test_the_activity_page_is_for_operators_only(admin: User, org: Org) -> None:
    console_admin = Client()
    console_admin.force_login(admin)
    assert console_admin.get("/admin/activity/").status_code == 302  # to the admin login
    staff = User.objects.create_user("staff@example.com", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/activity/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_provisioningevent"))
    client.force_login(User.objects.get(pk=staff.pk))
    assert client.get("/admin/activity/").status_code == 200


def test_the_admin_index_links_to_the_activity_page(operator: Client) -> None:
    assert 'href="/admin/activity/"' in operator.get("/admin/").content.decode()
