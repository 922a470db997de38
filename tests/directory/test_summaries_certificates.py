"""The hourly summary warns about an IdP signing certificate that expires within 30 days,
in an email that is due anyway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from directory.models import Org, ProvisioningEvent
from directory.services import event_record, idp_configure
from directory.tasks import summaries_dispatch as summaries_dispatch_task
from tests.actors import OPERATOR
from tests.idp_metadata import entra_metadata, make_cert, okta_metadata

H = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
AFTER = H + timedelta(hours=1, seconds=3)


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks: Any) -> Any:
    def run() -> int:
        with (
            time_machine.travel(AFTER, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return summaries_dispatch_task()

    return run


def _saml_with_certificates(org: Org, *days: int) -> list[str]:
    """The org's IdP with signing certificates expiring `days` after the summary is sent."""
    with time_machine.travel(AFTER, tick=False):
        certs = [make_cert(f"cert{d}", days=d) for d in days]
        idp_configure(org=org, provider="entra", protocol="saml",
                      metadata_xml=entra_metadata(*certs), actor=OPERATOR)  # fmt: skip
    return [c.sha256 for c in certs]


def _an_event(org: Org) -> None:
    with time_machine.travel(H + timedelta(minutes=10), tick=False):
        event_record(org=org, action=ProvisioningEvent.Action.USER_CREATE, outcome="success",
                     resource_type="User", resource_name="ada@acme.example",
                     actor=OPERATOR)  # fmt: skip


def test_a_due_summary_warns_about_a_certificate_expiring_within_30_days(
    org: Org, admin: Any, dispatch: Any
) -> None:
    soon, later = _saml_with_certificates(org, 12, 400)
    _an_event(org)
    assert dispatch() == 1
    (message,) = mail.outbox
    assert message.subject.endswith(", IdP certificate expiring, 10:00–11:00 UTC")
    expiry = (AFTER + timedelta(days=12)).strftime("%Y-%m-%d %H:%M")
    assert f"Your IdP's signing certificate {soon} expires on {expiry} UTC" in message.body
    assert later not in message.body
    html = str(message.alternatives[0][0])  # type: ignore[attr-defined]
    assert soon in html and "upload its metadata again" in html and later not in html


def test_an_expired_certificate_is_said_to_have_expired(
    org: Org, admin: Any, dispatch: Any
) -> None:
    (gone,) = _saml_with_certificates(org, -3)
    _an_event(org)
    dispatch()
    assert f"signing certificate {gone} expired on" in mail.outbox[0].body


def test_a_certificate_30_days_or_more_away_is_not_mentioned(
    org: Org, admin: Any, dispatch: Any
) -> None:
    _saml_with_certificates(org, 31)
    _an_event(org)
    dispatch()
    (message,) = mail.outbox
    assert "certificate" not in message.body and "certificate" not in message.subject


def test_an_expiring_certificate_alone_makes_no_hour_due(
    org: Org, admin: Any, dispatch: Any
) -> None:
    _saml_with_certificates(org, 5)
    assert dispatch() == 0
    assert mail.outbox == []


def test_an_oidc_idp_has_no_certificates_to_warn_about(org: Org, admin: Any, dispatch: Any) -> None:
    idp_configure(org=org, provider="okta", protocol="saml",
                  metadata_xml=okta_metadata(make_cert(days=3)), actor=OPERATOR)  # fmt: skip
    idp_configure(org=org, provider="okta", protocol="oidc", actor=OPERATOR)
    _an_event(org)
    dispatch()
    assert "certificate" not in mail.outbox[0].body
