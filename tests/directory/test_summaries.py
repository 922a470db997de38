from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from celery.exceptions import Retry
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection

from commandcenter.celery import app as celery_app
from directory.models import Org, OrgAdmin, ProvisioningEvent, SummaryLog
from directory.services import event_record, org_admin_add, org_create
from directory.summaries import (
    LEASE,
    events_prune,
    summaries_due,
    summaries_unsent,
    summary_send,
)
from directory.tasks import summaries_dispatch as summaries_dispatch_task
from tests.actors import OPERATOR

H = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # the hour the events happen in
AFTER = H + timedelta(hours=1, minutes=0, seconds=3)  # beat fires at 11:00


def _events(org: Org, at: datetime, outcomes: dict[str, int]) -> None:
    with time_machine.travel(at, tick=False):
        for outcome, n in outcomes.items():
            for i in range(n):
                event_record(
                    org=org,
                    action=ProvisioningEvent.Action.USER_CREATE
                    if outcome != "disabled"
                    else ProvisioningEvent.Action.USER_DEACTIVATE,
                    outcome=outcome,
                    resource_type="User",
                    resource_name=f"{outcome}{i}@{org.slug}.example",
                    message="A user with userName already exists" if outcome == "failure" else "",
                    status_code=409 if outcome == "failure" else None,
                    actor=OPERATOR,
                )


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks: Any) -> Any:
    """summaries_dispatch as beat runs it: its queued sends run when it commits."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return summaries_dispatch_task()

    return run


@pytest.fixture
def orgs(org: Org, other_org: Org, admin: Any, other_admin: Any) -> tuple[Org, Org, Org]:
    idle = org_create(slug="initech", name="Initech")
    org_admin_add(org=idle, email="peter@initech.example")
    return org, other_org, idle


def test_each_org_with_events_gets_one_email_per_admin_with_counts_and_failures(
    orgs: tuple[Org, Org, Org],
    dispatch: Any,
) -> None:
    acme, globex, _idle = orgs
    _events(acme, H + timedelta(minutes=5), {"success": 3, "failure": 2, "disabled": 1})
    _events(globex, H + timedelta(minutes=50), {"success": 1})
    _events(acme, H + timedelta(hours=1, minutes=1), {"success": 9})  # next hour: not yet
    with time_machine.travel(AFTER, tick=False):
        assert dispatch() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@acme.example", "bob@globex.example"]
    acme_mail = next(m for m in mail.outbox if m.to == ["alice@acme.example"])
    assert acme_mail.subject == (
        "[Command Center] Acme Corp: 6 provisioning events, 2 failures, 10:00–11:00 UTC"
    )
    assert "3 successes, 2 failures, 1 disabled" in acme_mail.body
    assert "failure0@acme.example (409): A user with userName already exists" in acme_mail.body
    assert "disabled0@acme.example" in acme_mail.body
    assert (
        "/o/acme/events/?outcome=failure&from=2026-11-24T10%3A00%3A00%2B00%3A00" in acme_mail.body
    )
    html = acme_mail.alternatives[0][0]  # type: ignore[attr-defined]
    assert "See all failures of this hour" in str(html)


def test_running_the_dispatch_twice_sends_once(orgs: tuple[Org, Org, Org], dispatch: Any) -> None:
    _events(orgs[0], H + timedelta(minutes=5), {"success": 1})
    with time_machine.travel(AFTER, tick=False):
        dispatch()
        dispatch()
        call_command("summaries", "send", stdout=StringIO())
    assert len(mail.outbox) == 1
    assert SummaryLog.objects.get().recipients == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_send_once(orgs: tuple[Org, Org, Org], dispatch: Any) -> None:
    _events(orgs[0], H + timedelta(minutes=5), {"success": 1})
    results: list[int] = []

    def send() -> None:
        try:
            results.append(summary_send(org=orgs[0], hour=H))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    with time_machine.travel(AFTER):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert len(mail.outbox) == 1


def test_a_missed_hour_is_caught_up_once_and_older_ones_are_not(
    orgs: tuple[Org, Org, Org], dispatch: Any
) -> None:
    acme = orgs[0]
    _events(acme, H - timedelta(hours=30), {"success": 1})  # beyond the 24 h catch-up
    _events(acme, H - timedelta(hours=5), {"failure": 1})  # missed while down
    _events(acme, H + timedelta(minutes=1), {"success": 1})
    with time_machine.travel(AFTER, tick=False):
        assert dispatch() == 2
        assert dispatch() == 0
    assert len(mail.outbox) == 2
    assert {log.hour for log in SummaryLog.objects.all()} == {H - timedelta(hours=5), H}


def test_an_admin_who_opted_out_gets_nothing_while_the_others_get_theirs(
    orgs: tuple[Org, Org, Org], dispatch: Any
) -> None:
    acme = orgs[0]
    org_admin_add(org=acme, email="carol@acme.example")
    OrgAdmin.objects.filter(org=acme, user__email="alice@acme.example").update(summary_emails=False)
    _events(acme, H + timedelta(minutes=5), {"success": 1})
    with time_machine.travel(AFTER, tick=False):
        dispatch()
    assert [m.to for m in mail.outbox] == [["carol@acme.example"]]


def test_an_org_whose_admins_all_opted_out_gets_no_email_and_is_marked_done(
    orgs: tuple[Org, Org, Org], dispatch: Any
) -> None:
    OrgAdmin.objects.filter(org=orgs[0]).update(summary_emails=False)
    _events(orgs[0], H + timedelta(minutes=5), {"success": 1})
    with time_machine.travel(AFTER, tick=False):
        dispatch()
        assert summaries_due() == []
    assert mail.outbox == []
    log = SummaryLog.objects.get()
    assert log.sent_at is not None and log.recipients == 0


def test_failures_are_capped_with_a_count_of_the_rest_and_a_link_to_that_hour(
    orgs: tuple[Org, Org, Org], dispatch: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://cc.example.com"
    _events(orgs[0], H + timedelta(minutes=5), {"failure": 25})
    with time_machine.travel(AFTER, tick=False):
        dispatch()
    body = mail.outbox[0].body
    assert body.count("A user with userName already exists") == 20
    assert "and 5 more" in body
    assert (
        "https://cc.example.com/o/acme/events/?outcome=failure"
        "&from=2026-11-24T10%3A00%3A00%2B00%3A00&to=2026-11-24T11%3A00%3A00%2B00%3A00"
    ) in body
    assert mail.outbox[0].subject.endswith("25 provisioning events, 25 failures, 10:00–11:00 UTC")


def test_a_claim_left_by_a_crashed_sender_is_taken_over_once_its_lease_ran_out(
    orgs: tuple[Org, Org, Org], settings: Any
) -> None:
    _events(orgs[0], H + timedelta(minutes=5), {"success": 1})
    with time_machine.travel(AFTER, tick=False):
        # A worker claimed the hour and died before sending.
        SummaryLog.objects.create(org=orgs[0], hour=H, attempts=1)
        assert summary_send(org=orgs[0], hour=H) == 0  # still within its lease
    with time_machine.travel(AFTER + LEASE + timedelta(seconds=1), tick=False):
        assert summary_send(org=orgs[0], hour=H) == 1
        assert summary_send(org=orgs[0], hour=H) == 0
    assert len(mail.outbox) == 1
    assert SummaryLog.objects.get().attempts == 2
    # A live send is killed by the task time limit before anyone may take over its claim.
    assert timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) < LEASE


def test_an_admin_of_two_orgs_gets_two_emails(orgs: tuple[Org, Org, Org], dispatch: Any) -> None:
    acme, globex, _ = orgs
    org_admin_add(org=globex, email="alice@acme.example")
    _events(acme, H + timedelta(minutes=5), {"success": 1})
    _events(globex, H + timedelta(minutes=5), {"success": 1})
    with time_machine.travel(AFTER, tick=False):
        dispatch()
    alice = [m.subject for m in mail.outbox if m.to == ["alice@acme.example"]]
    assert len(alice) == 2 and any("Globex" in s for s in alice)


def test_a_failing_send_releases_its_claim_so_the_retry_sends_once(
    orgs: tuple[Org, Org, Org], settings: Any
) -> None:
    _events(orgs[0], H + timedelta(minutes=5), {"success": 1})
    settings.EMAIL_BACKEND = "tests.directory.test_summaries.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.sent = 2, 0
    with time_machine.travel(AFTER, tick=False):
        for _ in range(2):
            with pytest.raises(ConnectionError):
                summary_send(org=orgs[0], hour=H)
        assert summary_send(org=orgs[0], hour=H) == 1
        assert summary_send(org=orgs[0], hour=H) == 0
    assert FlakyBackend.sent == 1
    log = SummaryLog.objects.get()
    assert log.sent_at is not None and log.attempts == 3 and log.error == ""


def test_the_send_task_retries_a_failing_mail_server_with_backoff_and_sends_exactly_once(
    orgs: tuple[Org, Org, Org], settings: Any
) -> None:
    from directory.tasks import summary_send as summary_send_task

    _events(orgs[0], H + timedelta(minutes=5), {"success": 1})
    settings.EMAIL_BACKEND = "tests.directory.test_summaries.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.sent = 2, 0
    signature: Any = summary_send_task.si(orgs[0].pk, H.isoformat())
    countdowns = []
    with time_machine.travel(AFTER, tick=False):
        # What a worker does: run the task, and on Retry run the retry after its countdown.
        for _ in range(10):
            try:
                signature.apply()
                break
            except Retry as retry:
                countdowns.append(retry.when)
                signature = retry.sig  # type: ignore[attr-defined]  # celery-types omits it
        summary_send_task.apply(args=(orgs[0].pk, H.isoformat()))  # a duplicate delivery
    assert countdowns == [60, 120]
    assert FlakyBackend.sent == 1
    log = SummaryLog.objects.get()
    assert log.sent_at is not None and log.attempts == 3


def test_a_summary_that_keeps_failing_holds_up_no_other_org_and_goes_out_later(
    orgs: tuple[Org, Org, Org], dispatch: Any, settings: Any, caplog: Any
) -> None:
    acme, globex, _ = orgs
    _events(acme, H + timedelta(minutes=5), {"success": 1})
    _events(globex, H + timedelta(minutes=5), {"success": 1})
    settings.EMAIL_BACKEND = "tests.directory.test_summaries.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.sent = 100, 0
    FlakyBackend.failing = {"alice@acme.example"}
    try:
        with time_machine.travel(AFTER, tick=False):
            assert dispatch() == 2  # acme's send fails, globex's goes out all the same
            assert FlakyBackend.sent == 1
            assert "SMTP server not reachable" in caplog.text
            log = SummaryLog.objects.get(org=acme)
            assert log.sent_at is None and "SMTP server not reachable" in log.error
            assert summaries_unsent() == 1
            FlakyBackend.failures = 0  # the mail server is back
        with time_machine.travel(AFTER + timedelta(hours=1), tick=False):
            assert dispatch() == 1
            assert dispatch() == 0
            assert summaries_unsent() == 0
    finally:
        FlakyBackend.failing = set()
    assert FlakyBackend.sent == 2


def test_the_send_task_retries_with_backoff() -> None:
    from directory.tasks import summary_send as summary_send_task

    task: Any = summary_send_task
    assert task.autoretry_for == (Exception,)
    assert task.max_retries == 5 and task.retry_backoff == 60


class FlakyBackend:
    """Fails its next `failures` sends (only those to `failing` addresses, if given)."""

    failures = 0
    sent = 0
    failing: set[str] = set()

    def __init__(self, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: list[Any]) -> int:
        hit = not FlakyBackend.failing or any(
            address in FlakyBackend.failing for m in messages for address in m.to
        )
        if FlakyBackend.failures and hit:
            FlakyBackend.failures -= 1
            raise ConnectionError("SMTP server not reachable")
        FlakyBackend.sent += len(messages)
        return len(messages)


def test_summaries_send_command(orgs: tuple[Org, Org, Org], dispatch: Any) -> None:
    _events(orgs[0], H + timedelta(minutes=5), {"success": 1})
    _events(orgs[1], H + timedelta(minutes=5), {"success": 1})
    out = StringIO()
    with time_machine.travel(AFTER, tick=False):
        call_command("summaries", "send", "--org", "globex", stdout=out)
    assert "globex 2026-11-24 10:00 UTC: sent to 1 admin(s)" in out.getvalue()
    assert [m.to for m in mail.outbox] == [["bob@globex.example"]]
    with pytest.raises(CommandError, match="No org with slug 'nope'"):
        call_command("summaries", "send", "--org", "nope", stdout=StringIO())
    with time_machine.travel(AFTER, tick=False):
        assert summaries_due() == [(orgs[0].pk, H)]
        out = StringIO()
        call_command("summaries", "send", stdout=out)
        assert out.getvalue() == "acme 2026-11-24 10:00 UTC: sent to 1 admin(s)\n"
        out = StringIO()
        call_command("summaries", "send", stdout=out)
        assert out.getvalue() == "No summaries are due.\n"
    assert len(mail.outbox) == 2


def test_summaries_send_reports_a_mail_server_error_and_sends_the_rest(
    orgs: tuple[Org, Org, Org], settings: Any
) -> None:
    _events(orgs[0], H + timedelta(minutes=5), {"success": 1})
    _events(orgs[1], H + timedelta(minutes=5), {"success": 1})
    settings.EMAIL_BACKEND = "tests.directory.test_summaries.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.sent = 1, 0
    out, err = StringIO(), StringIO()
    with time_machine.travel(AFTER, tick=False):
        with pytest.raises(CommandError, match="1 of 2 summaries could not be sent"):
            call_command("summaries", "send", stdout=out, stderr=err)
        assert "acme 2026-11-24 10:00 UTC: not sent, SMTP server not reachable" in err.getvalue()
        assert "globex 2026-11-24 10:00 UTC: sent to 1 admin(s)" in out.getvalue()
        call_command("summaries", "send", stdout=StringIO())
    assert FlakyBackend.sent == 2


def test_old_events_are_pruned(org: Org, settings: Any) -> None:
    settings.EVENT_RETENTION_DAYS = 30
    _events(org, H - timedelta(days=31), {"success": 2})
    _events(org, H - timedelta(days=29), {"success": 1})
    with time_machine.travel(H, tick=False):
        assert events_prune() == 2
    assert org.events.count() == 1


def test_beat_runs_the_summaries_at_minute_zero_every_hour() -> None:
    entry = celery_app.conf.beat_schedule["summaries-hourly"]
    assert entry["task"] == "directory.tasks.summaries_dispatch"
    schedule = entry["schedule"]
    assert schedule.minute == {0} and schedule.hour == set(range(24))
    assert schedule.day_of_week == set(range(7)) and schedule.day_of_month == set(range(1, 32))
    prune = celery_app.conf.beat_schedule["events-prune-daily"]
    assert prune["task"] == "directory.tasks.events_prune"
    assert len(prune["schedule"].hour) == 1 and len(prune["schedule"].minute) == 1


def test_the_html_sample_in_the_docs_is_what_the_code_renders(
    orgs: tuple[Org, Org, Org], dispatch: Any, settings: Any
) -> None:
    settings.SITE_URL = "http://127.0.0.1:8000"  # the sample's links, whatever CI sets
    _events(orgs[0], H + timedelta(minutes=5), {"success": 12, "failure": 2, "disabled": 3})
    with time_machine.travel(AFTER, tick=False):
        dispatch()
    html = str(mail.outbox[0].alternatives[0][0])  # type: ignore[union-attr]
    sample = Path(__file__).resolve().parents[2] / "docs" / "summary-email-sample.html"
    if os.environ.get("UPDATE_SAMPLES"):
        sample.write_text(html)
    assert sample.read_text() == html


def test_listed_events_without_a_message_say_their_details_in_words(
    org: Org, admin: Any, dispatch: Any
) -> None:
    with time_machine.travel(H + timedelta(minutes=5), tick=False):
        event_record(
            org=org,
            action=ProvisioningEvent.Action.GROUP_MEMBERS,
            outcome=ProvisioningEvent.Outcome.FAILURE,
            resource_type="Group",
            resource_name="Sales",
            details={"added": 1000, "removed": 0},
            actor=OPERATOR,
        )
        event_record(
            org=org,
            action=ProvisioningEvent.Action.USER_DEACTIVATE,
            outcome=ProvisioningEvent.Outcome.DISABLED,
            resource_type="User",
            resource_name="ann@acme.example",
            details={"changed": ["title"]},
            actor=OPERATOR,
        )
    with time_machine.travel(AFTER, tick=False):
        assert dispatch() == 1
    body = mail.outbox[0].body
    assert "Change group members Sales: Added 1,000 members, removed 0" in body
    assert "ann@acme.example: Changed title" in body
    html = str(mail.outbox[0].alternatives[0][0])  # type: ignore[union-attr]
    assert "Added 1,000 members, removed 0" in html
