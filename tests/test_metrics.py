"""/metrics for operators: who may read it, and what the SCIM endpoint and the webhook
backlog make it say (in this process's registry: no gunicorn here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from directory.models import ChangeEvent, Org, ProvisioningEvent, ScimDirectory
from directory.services import event_record
from directory.summaries import hour_start, summary_send
from tests.actors import OPERATOR
from tests.metrics_scrape import METRICS_TOKEN, Samples, parse, value
from tests.scim.conftest import ScimClient, okta_user
from tokens.services import token_issue, token_revoke
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def scim(directory: ScimDirectory, token: str) -> ScimClient:
    return ScimClient(directory, token, user_agent="Okta SCIM Client 1.0.0")


@pytest.fixture
def scrape(settings: Any) -> Any:
    settings.METRICS_TOKEN = METRICS_TOKEN
    client = Client(HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    def read() -> Samples:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return parse(response.content.decode())

    return read


def test_without_metrics_token_the_endpoint_does_not_exist(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client(HTTP_AUTHORIZATION="Bearer anything").get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-token",
        f"Basic {METRICS_TOKEN}",
        f"Bearer {METRICS_TOKEN}x",
    ],
)
def test_a_scrape_without_the_token_is_refused(settings: Any, header: str | None) -> None:
    settings.METRICS_TOKEN = METRICS_TOKEN
    extra: dict[str, Any] = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = Client().get("/metrics", **extra)
    assert response.status_code == 401
    assert b"commandcenter_" not in response.content


def test_scim_requests_are_counted_by_method_status_and_outcome(
    scim: ScimClient, directory: ScimDirectory, settings: Any, scrape: Any
) -> None:
    revoked = token_issue(directory=directory, name="Old")
    token_revoke(directory=directory, token_id=str(revoked.token.id))
    before = scrape()
    settings.SCIM_RATE_PER_TOKEN = 3
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        assert scim.post("/Users", okta_user("ann@acme.example")).status_code == 201
        assert scim.post("/Users", okta_user("ann@acme.example")).status_code == 409
        assert scim.get("/Users").status_code == 200
        assert scim.get("/Users").status_code == 429  # the token's 4th in this second
    assert ScimClient(directory, "ccscim_not-a-token").get("/Users").status_code == 401
    assert ScimClient(directory, revoked.plaintext).get("/Users").status_code == 401
    assert Client().get(f"/scim/v2/{directory.id}/Users").status_code == 401
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "commandcenter_scim_requests_total"
    assert moved(requests, method="POST", status="201", outcome="success") == 1
    assert moved(requests, method="POST", status="409", outcome="failure") == 1
    assert moved(requests, method="GET", status="200", outcome="success") == 1
    assert moved(requests, method="GET", status="429", outcome="rate_limited") == 1
    assert moved(requests, method="GET", status="401", outcome="unauthenticated") == 3
    assert moved("commandcenter_scim_rate_limited_total", limit="request_rate") == 1
    failures = "commandcenter_scim_auth_failures_total"
    assert moved(failures, reason="invalid") == 1
    assert moved(failures, reason="revoked") == 1
    assert moved(failures, reason="missing") == 1
    duration = "commandcenter_scim_request_duration_seconds"
    assert moved(duration + "_count", method="POST") == 2
    assert moved(duration + "_count", method="GET") == 5
    assert moved(duration + "_bucket", method="GET", le="+Inf") == 5
    # Bounded labels: no org, directory, token or path anywhere in the scrape.
    labels = {v for (_, pairs) in after for (_, v) in pairs}
    assert not {str(directory.id), directory.org.slug, revoked.plaintext} & labels


def test_the_scim_switch_off_is_its_own_reason(
    scim: ScimClient, directory: ScimDirectory, scrape: Any
) -> None:
    before = scrape()
    directory.enabled = False
    directory.save()
    assert scim.get("/Users").status_code == 401
    after = scrape()
    reason = {"reason": "scim_disabled"}
    moved = value(after, "commandcenter_scim_auth_failures_total", **reason) - value(
        before, "commandcenter_scim_auth_failures_total", **reason
    )
    assert moved == 1


def test_the_failed_authentication_throttle_is_its_own_limit(
    directory: ScimDirectory, settings: Any, scrape: Any
) -> None:
    settings.SCIM_AUTH_FAILURES_PER_MINUTE = 2
    wrong = ScimClient(directory, "ccscim_wrong")
    before = scrape()
    with time_machine.travel("2026-11-24 10:00:05+00:00", tick=False):
        statuses = [wrong.get("/Users").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    after = scrape()
    limit = {"limit": "auth_failures"}
    name = "commandcenter_scim_rate_limited_total"
    assert value(after, name, **limit) - value(before, name, **limit) == 1


def test_the_webhook_backlog_is_read_when_scraped(org: Org, scrape: Any) -> None:
    def endpoints(samples: Samples) -> dict[str, float]:
        states = ("enabled", "disabled", "behind", "failing")
        return {s: value(samples, "commandcenter_webhook_endpoints", state=s) for s in states}

    up_to_date = WebhookEndpoint.objects.create(org=org, url="https://a.example/hook")
    lagging = WebhookEndpoint.objects.create(org=org, url="https://b.example/hook")
    WebhookEndpoint.objects.create(org=org, url="https://c.example/hook", enabled=False)
    assert endpoints(scrape()) == {"enabled": 2, "disabled": 1, "behind": 0, "failing": 0}

    change = ChangeEvent.objects.create(org=org, type=ChangeEvent.Type.USER_CREATED)
    change.refresh_from_db()
    WebhookEndpoint.objects.filter(pk=up_to_date.pk).update(
        cursor_txid=change.txid, cursor_id=change.id
    )
    WebhookEndpoint.objects.filter(pk=lagging.pk).update(
        failing_since=timezone.now() - timedelta(minutes=30), failures=4
    )
    samples = scrape()
    assert endpoints(samples) == {"enabled": 2, "disabled": 1, "behind": 1, "failing": 1}
    oldest = value(samples, "commandcenter_webhook_oldest_failure_seconds")
    assert 30 * 60 <= oldest < 31 * 60
    assert value(samples, "commandcenter_metrics_source_up", source="database") == 1


def test_summary_emails_sent_and_failed_are_counted(
    org: Org, admin: Any, settings: Any, scrape: Any, own_redis: str
) -> None:
    # Counted on a Redis of the test's own, as the worker counts them in production.
    settings.REDIS_URL = own_redis
    hour = hour_start(timezone.now()) - timedelta(hours=2)

    def an_event_in(hour: datetime) -> None:
        with time_machine.travel(hour + timedelta(minutes=7), tick=False):
            event_record(
                org=org,
                action=ProvisioningEvent.Action.USER_CREATE,
                outcome=ProvisioningEvent.Outcome.SUCCESS,
                resource_type="User",
                resource_name="ann@acme.example",
                actor=OPERATOR,
            )

    def moved(outcome: str) -> float:
        name = "commandcenter_summary_emails_total"
        return value(after, name, outcome=outcome) - value(before, name, outcome=outcome)

    an_event_in(hour)
    an_event_in(hour + timedelta(hours=1))
    before = scrape()
    assert summary_send(org=org, hour=hour) == 1
    # Nothing listens on port 1: the next hour's send fails (and would be retried).
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    with pytest.raises(OSError):
        summary_send(org=org, hour=hour + timedelta(hours=1))
    after = scrape()
    assert (moved("sent"), moved("failed")) == (1, 1)
