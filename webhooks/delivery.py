"""Delivering the change feed to webhook endpoints.

Each endpoint reads the org's feed from its cursor, in order, one change at a time:
a change is sent (signed, webhooks.signing), and the cursor moves past it once the
receiver answers 2xx. A failure stops the endpoint at that change, which is tried again
after RETRY_DELAYS (with jitter); later changes wait behind it, so every receiver sees
each resource's changes in order. A repeat (a retry, or a delivery whose answer was
lost) carries the same webhook-id: delivery is at least once, and receivers deduplicate
by that id. An endpoint still failing RETRY_WINDOW after its first failure is disabled
and the org's admins get an email.

deliveries_run is the scheduled job (webhooks.tasks, every few seconds): it runs in the
Celery worker, or in embedded mode in `manage.py serve`'s scheduler; never in a SCIM
request, so a slow or dead receiver slows no provisioning.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from directory.change_feed import Cursor, CursorGone, change_feed, change_payload
from directory.models import ChangeEvent
from directory.outbound import OutboundError, fetch
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import secrets_active
from webhooks.signing import signed_headers

logger = logging.getLogger(__name__)

# After the n-th failure in a row the next attempt waits RETRY_DELAYS[n-1] (the last
# one repeats), ±20 %: from 5 seconds to 12 hours, about 3 days in all.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=12),
)
RETRY_WINDOW = timedelta(days=3)
TIMEOUT = 5.0  # seconds, to connect and for the whole answer
RESPONSE_EXCERPT = 1024  # bytes of the answer kept in the delivery log
LEASE = timedelta(minutes=2)
# One run sends at most this many changes per endpoint, for at most RUN_SECONDS in all,
# so every endpoint gets a turn and a worker's shutdown never waits long.
BATCH = 200
RUN_SECONDS = 20.0


def retry_delay(failures: int, *, rand: random.Random | None = None) -> timedelta:
    base = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
    return base * (rand or random).uniform(0.8, 1.2)


@dataclass(frozen=True)
class Attempt:
    succeeded: bool
    status: int | None
    latency_ms: int
    excerpt: str
    error: str


def _post(endpoint: WebhookEndpoint, *, msg_id: str, payload: str, now: datetime) -> Attempt:
    """POST `payload` to the endpoint, signed with its active secrets."""
    headers = signed_headers(
        msg_id=msg_id,
        timestamp=now,
        payload=payload,
        secrets=[s.secret for s in secrets_active(endpoint=endpoint, now=now)],
    )
    started = time.perf_counter()
    try:
        response = fetch(
            endpoint.url,
            method="POST",
            content=payload.encode(),
            content_type="application/json",
            headers=headers,
            timeout=TIMEOUT,
            max_bytes=RESPONSE_EXCERPT,
            truncate=True,
            statuses=range(100, 600),
            allow_private=bool(settings.WEBHOOK_ALLOW_PRIVATE_TARGETS),
        )
    except OutboundError as e:
        latency = int((time.perf_counter() - started) * 1000)
        return Attempt(False, None, latency, "", str(e)[:500])
    latency = int((time.perf_counter() - started) * 1000)
    ok = 200 <= response.status < 300
    excerpt = response.body.decode("utf-8", "replace")
    return Attempt(ok, response.status, latency, excerpt, "" if ok else f"HTTP {response.status}")


def send(endpoint: WebhookEndpoint, change: ChangeEvent, *, now: datetime) -> Attempt:
    """Deliver one change: its webhook-id is the same at every attempt."""
    payload = json.dumps(change_payload(change, org_slug=endpoint.org.slug), separators=(",", ":"))
    return _post(endpoint, msg_id=f"msg_{change.uid.hex}", payload=payload, now=now)


def _claim(endpoint: WebhookEndpoint, now: datetime) -> bool:
    """Hold the endpoint for this run (no other run sends to it meanwhile)."""
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )


def _release(endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(lease_until=None)


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.save(update_fields=["enabled", "disabled_reason"])
    admins = list(endpoint.org.admins.exclude(user__email="").values_list("user__email", flat=True))
    if admins:
        try:
            send_mail(
                f"[Command Center] Webhook endpoint disabled for {endpoint.org.name}",
                f"The webhook endpoint {endpoint.url} of {endpoint.org.name} failed for "
                f"{RETRY_WINDOW.days} days and was disabled.\n\nLast error: {reason}\n\n"
                "Changes wait for it: fix the receiver, then enable the endpoint again "
                f"(Settings > Webhooks) and it resumes where it stopped.\n\n"
                f"{settings.SITE_URL}/o/{endpoint.org.slug}/settings/webhooks/{endpoint.pk}/",
                None,
                admins,
            )
        except Exception:
            logger.exception("Could not email the admins of %s", endpoint.org.slug)


def _move(endpoint: WebhookEndpoint, to: Cursor, **fields: object) -> bool:
    """Move the endpoint's cursor to `to` (with `fields`) if it is still where this run
    last put it: False when an admin's replay moved it meanwhile (the run then stops,
    and the next one starts from the replay's point)."""
    moved = WebhookEndpoint.objects.filter(
        pk=endpoint.pk,
        cursor_txid=endpoint.cursor_txid,
        cursor_id=endpoint.cursor_id,
        replays=endpoint.replays,
    ).update(cursor_txid=to.txid, cursor_id=to.id, **fields)
    endpoint.cursor_txid, endpoint.cursor_id = to.txid, to.id
    return bool(moved)


def endpoint_deliver(
    endpoint: WebhookEndpoint, *, limit: int = BATCH, until: float | None = None
) -> int:
    """Send the endpoint's pending changes in order until one fails, `limit` were sent
    or the clock (time.monotonic) passes `until`; returns how many were delivered. The
    caller holds the endpoint's lease."""
    delivered = 0
    org = endpoint.org
    while delivered < limit and (until is None or time.monotonic() < until):
        try:
            page = change_feed(org=org, after=Cursor(endpoint.cursor_txid, endpoint.cursor_id))
        except CursorGone as gone:
            # It was disabled longer than the org keeps changes: those are lost to it.
            if not _move(endpoint, gone.oldest):
                return delivered
            continue
        skipped: Cursor | None = None  # past changes it does not want
        for change in page.changes:
            if not endpoint.wants(change.type):
                skipped = Cursor.of(change)
                continue
            if skipped is not None and not _move(endpoint, skipped):
                return delivered
            skipped = None
            if delivered >= limit or (until is not None and time.monotonic() >= until):
                return delivered
            now = timezone.now()
            attempt = send(endpoint, change, now=now)
            WebhookDelivery.objects.create(
                endpoint=endpoint,
                change=change,
                attempt=endpoint.failures + 1,
                succeeded=attempt.succeeded,
                status=attempt.status,
                latency_ms=attempt.latency_ms,
                response_excerpt=attempt.excerpt,
                error=attempt.error,
            )
            if not attempt.succeeded:
                _failed(endpoint, attempt, now)
                return delivered
            delivered += 1
            endpoint.failing_since, endpoint.failures, endpoint.next_attempt_at = None, 0, None
            if not _move(
                endpoint, Cursor.of(change), failing_since=None, failures=0, next_attempt_at=None
            ):
                return delivered
        if page.cursor != Cursor(endpoint.cursor_txid, endpoint.cursor_id):
            if not _move(endpoint, page.cursor):
                return delivered
        if not page.more:
            break
    return delivered


def _failed(endpoint: WebhookEndpoint, attempt: Attempt, now: datetime) -> None:
    endpoint.failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    endpoint.next_attempt_at = now + retry_delay(endpoint.failures)
    endpoint.save(update_fields=["failures", "failing_since", "next_attempt_at"])
    if now - endpoint.failing_since >= RETRY_WINDOW:
        _disable(endpoint, attempt.error or "no answer")


def deliveries_run(*, now: datetime | None = None) -> int:
    """Deliver to every enabled endpoint that is due; returns the changes delivered."""
    now = now or timezone.now()
    due = WebhookEndpoint.objects.filter(enabled=True).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    delivered = 0
    until = time.monotonic() + RUN_SECONDS
    for endpoint in due.select_related("org"):
        if time.monotonic() >= until:
            break  # the next run, seconds from now, goes on
        if not _claim(endpoint, now):
            continue
        try:
            # Read again now that it is held: another worker's run may have held it since
            # the list was read, and moved its cursor (sending from the old one would
            # send those changes twice) or failed and put it off.
            endpoint.refresh_from_db()
            if endpoint.enabled and (
                endpoint.next_attempt_at is None or endpoint.next_attempt_at <= now
            ):
                delivered += endpoint_deliver(endpoint, until=until)
        except Exception:
            logger.exception("Webhook delivery to %s failed", endpoint.url)
        finally:
            _release(endpoint)
    return delivered


def endpoint_test(endpoint: WebhookEndpoint) -> Attempt:
    """Send a `webhook.test` message now (not from the feed, not retried, not logged):
    what the console's and the CLI's Test does."""
    now = timezone.now()
    payload = json.dumps(
        {
            "type": "webhook.test",
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": {"org": endpoint.org.slug, "endpoint": str(endpoint.pk)},
        },
        separators=(",", ":"),
    )
    return _post(endpoint, msg_id=f"msg_test_{uuid.uuid4().hex}", payload=payload, now=now)
