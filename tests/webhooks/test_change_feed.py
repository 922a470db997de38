"""The change feed: every change in order from a cursor, nothing missed or repeated
while writers commit out of order, 410 past the retention, personal values gone with
a deleted user, and no other org's changes."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from directory.change_feed import Cursor, CursorGone, change_feed
from directory.models import ChangeEvent, EndUser, Org
from directory.services import UserFields, user_create, user_delete
from directory.services.changes import change_anonymous, changes_prune
from tests.actors import OPERATOR
from tests.api.test_api import client_for


def _write(org: Org, n: int, *, hold: float = 0.0) -> None:
    """n changes in one transaction, held open `hold` seconds before it commits."""
    with transaction.atomic():
        for i in range(n):
            change_anonymous(org=org, type=ChangeEvent.Type.SIGNIN_FAILED, user_name=f"x{i}")
        time.sleep(hold)


def _read_all(org: Org, after: Cursor, *, limit: int) -> tuple[list[int], Cursor]:
    seen: list[int] = []
    while True:
        page = change_feed(org=org, after=after, limit=limit)
        seen += [c.pk for c in page.changes]
        after = page.cursor
        if not page.more:
            return seen, after


@pytest.mark.django_db(transaction=True)
def test_a_reader_resumes_across_10000_changes_with_nothing_missed_or_repeated(
    org: Org,
) -> None:
    total, seen, after = 10_000, [], Cursor()
    if connection.vendor == "postgresql":
        # Writers in threads whose transactions commit out of the order they began
        # (ids handed out early, committed late), while the reader pages on.
        def writer(seed: int) -> None:
            rand = random.Random(seed)
            try:
                for _ in range(25):
                    _write(org, 20, hold=rand.uniform(0, 0.02))
            finally:
                connection.close()

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            got, after = _read_all(org, after, limit=137)
            seen += got
        for t in threads:
            t.join()
    else:
        # SQLite's writers take turns: interleave writes and reads in one thread.
        for _ in range(50):
            _write(org, 200)
            got, after = _read_all(org, after, limit=137)
            seen += got
    # The last writers' changes come out once every transaction older than theirs has
    # ended, in this database or another of the server (other tests' run alongside).
    deadline = time.monotonic() + 30
    while len(seen) < total and time.monotonic() < deadline:
        got, after = _read_all(org, after, limit=137)
        seen += got
        time.sleep(0.05)
    assert len(seen) == total == len(set(seen))
    assert set(seen) == set(ChangeEvent.objects.filter(org=org).values_list("id", flat=True))


def test_a_cursor_older_than_the_retention_is_gone_with_the_oldest_valid_one(
    org: Org, admin: User
) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=31), tick=False):
        _write(org, 3)
    _write(org, 2)
    old = change_feed(org=org, after=Cursor(), limit=1).cursor
    assert changes_prune() == 3
    org.refresh_from_db()
    with pytest.raises(CursorGone) as gone:
        change_feed(org=org, after=old, limit=10)
    api = client_for(admin)
    r = api.get(f"/api/v1/orgs/acme/changes/?after={old}")
    assert r.status_code == 410
    assert r.json()["oldest_cursor"] == str(gone.value.oldest)
    resumed = api.get(f"/api/v1/orgs/acme/changes/?after={r.json()['oldest_cursor']}").json()
    assert len(resumed["results"]) == 2 and resumed["has_more"] is False


def test_the_feed_pages_in_order_through_the_api(org: Org, admin: User) -> None:
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    api = client_for(admin)
    page = api.get("/api/v1/orgs/acme/changes/?limit=1").json()
    assert [c["type"] for c in page["results"]] == ["user.created"] and page["has_more"]
    rest = api.get(f"/api/v1/orgs/acme/changes/?after={page['next']}").json()
    assert [c["type"] for c in rest["results"]] == ["seat.assigned"]
    assert rest["results"][0]["data"]["resource_id"] == str(ada.pk)
    assert rest["has_more"] is False
    empty = api.get(f"/api/v1/orgs/acme/changes/?after={rest['next']}").json()
    assert empty["results"] == [] and empty["next"] == rest["next"]
    only = api.get("/api/v1/orgs/acme/changes/?types=seat.assigned").json()
    assert [c["type"] for c in only["results"]] == ["seat.assigned"]


@pytest.mark.parametrize("after", ["nope", "1.2.3", "-1.5", "99999999999999999999.1", "1."])
def test_a_malformed_cursor_is_a_400(org: Org, admin: User, after: str) -> None:
    r = client_for(admin).get("/api/v1/orgs/acme/changes/", {"after": after})
    assert r.status_code == 400 and r.json()["error"]["field"] == "after"


def test_another_orgs_admin_or_key_sees_none_of_the_feed(
    org: Org, other_admin: User, admin: User
) -> None:
    user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    api = client_for(other_admin)
    assert api.get("/api/v1/orgs/acme/changes/").status_code == 404
    assert api.get("/api/v1/orgs/globex/changes/").json()["results"] == []


def test_a_user_deleted_permanently_leaves_no_personal_value_in_the_feed(
    org: Org, admin: User
) -> None:
    ada = user_create(
        org=org,
        fields=UserFields(user_name="ada@acme.example", family_name="Lovelace"),
        actor=OPERATOR,
    )
    user_delete(user=EndUser.objects.get(pk=ada.pk), actor=OPERATOR)
    changes: list[dict[str, Any]] = (
        client_for(admin).get("/api/v1/orgs/acme/changes/").json()["results"]
    )
    assert [c["type"] for c in changes] == [
        "user.created",
        "seat.assigned",
        "seat.freed",
        "user.deleted",
    ]
    text = str(changes)
    assert "ada@acme.example" not in text and "Lovelace" not in text
    assert all(c["data"]["resource_id"] == str(ada.pk) for c in changes)


def test_an_admin_sets_how_long_the_feed_keeps_changes_through_the_api(
    org: Org, admin: User, other_admin: User
) -> None:
    api = client_for(admin)
    r = api.patch("/api/v1/orgs/acme/", {"change_retention_days": 7}, format="json")
    assert r.status_code == 200 and r.json()["change_retention_days"] == 7
    assert org.audit_events.filter(action="org.change_retention").exists()
    r = api.patch("/api/v1/orgs/acme/", {"change_retention_days": 0}, format="json")
    assert r.status_code == 400 and r.json()["error"]["field"] == "change_retention_days"
    r = api.patch(
        "/api/v1/orgs/acme/",
        {"request_log_retention_days": 14, "request_log_masks_personal_data": True},
        format="json",
    )
    assert r.json()["request_log_retention_days"] == 14
    assert r.json()["request_log_masks_personal_data"] is True
    other = client_for(other_admin)
    assert other.patch("/api/v1/orgs/acme/", {"change_retention_days": 1}).status_code == 404
    org.refresh_from_db()
    assert org.change_retention_days == 7
