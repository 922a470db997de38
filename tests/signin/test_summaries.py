"""Sign-ins in the hourly summary: counted for an hour that is due anyway, and refused
sign-ins alone make an hour due; successful ones alone do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.core import mail

from directory.models import Org
from directory.services import event_record
from directory.services.signin import Identity, signin
from directory.services.user_fields import UserFields
from directory.services.users import user_create
from directory.summaries import summaries_due, summary_send
from tests.actors import OPERATOR
from tests.signin.conftest import make_ready

H = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AFTER = H + timedelta(hours=1, seconds=3)


def _signins(org: Org, ok: int, refused: int) -> None:
    with time_machine.travel(H + timedelta(minutes=5), tick=False):
        for n in range(ok):
            signin(org=org, identity=Identity(f"s{n}", f"u{n}@acme.example"), protocol="saml")
        for n in range(refused):
            signin(org=org, identity=Identity(f"x{n}", f"nobody{n}@acme.example"), protocol="saml")


def _ready_with_users(org: Org, n: int) -> None:
    with time_machine.travel(H - timedelta(hours=2), tick=False):
        make_ready(org)
        for i in range(n):
            user_create(org=org, fields=UserFields(user_name=f"u{i}@acme.example"), actor=OPERATOR)


def test_successful_sign_ins_alone_make_no_hour_due(org: Org, admin: Any) -> None:
    _ready_with_users(org, 3)
    _signins(org, ok=3, refused=0)
    with time_machine.travel(AFTER, tick=False):
        assert (org.pk, H) not in summaries_due()


def test_refused_sign_ins_alone_make_the_hour_due_and_are_counted_by_reason(
    org: Org, admin: Any
) -> None:
    _ready_with_users(org, 1)
    _signins(org, ok=1, refused=2)
    with time_machine.travel(AFTER, tick=False):
        assert (org.pk, H) in summaries_due()
        assert summary_send(org=org, hour=H) == 1
    body = mail.outbox[0].body
    assert "Sign-ins: 1 successful, 2 refused (USER_NOT_PROVISIONED: 2)" in body
    assert "0 events" in body  # no provisioning happened that hour


def test_an_hour_due_for_provisioning_counts_its_sign_ins(org: Org, admin: Any) -> None:
    _ready_with_users(org, 2)
    _signins(org, ok=2, refused=0)
    with time_machine.travel(H + timedelta(minutes=30), tick=False):
        event_record(org=org, action="user_create", outcome="success", actor=OPERATOR)
    with time_machine.travel(AFTER, tick=False):
        assert summary_send(org=org, hour=H) == 1
    body = mail.outbox[0].body
    assert "1 event: 1 success" in body and "Sign-ins: 2 successful, 0 refused" in body
