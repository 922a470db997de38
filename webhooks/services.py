"""Webhook endpoints: adding, changing and removing them, their secrets, and an
admin's retry, replay and test. Every change is audited; delivery itself is in
webhooks.delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from directory.audit import Actor, audit_record
from directory.change_feed import Cursor
from directory.errors import InvalidValue, LimitReached, NotFound
from directory.ids import uuid_or_none
from directory.models import ChangeEvent, Org
from directory.outbound import url_refusal
from webhooks.models import WebhookEndpoint, WebhookSecret
from webhooks.signing import secret_generate

MAX_ENDPOINTS = 10
# After a rotation the old secret keeps signing for this long, so receivers can switch.
ROTATION_OVERLAP = timedelta(hours=24)
EVENT_TYPES = tuple(ChangeEvent.Type.values)


@dataclass(frozen=True)
class IssuedSecret:
    """A secret as it is shown, once."""

    endpoint: WebhookEndpoint
    secret: str


def _allow_private() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)


def _url_check(url: str) -> str:
    url = url.strip()
    if len(url) > 2000:
        raise InvalidValue("The URL is longer than 2,000 characters", field="url")
    why = url_refusal(url, allow_private=_allow_private())
    if why is not None:
        raise InvalidValue(f"Cannot deliver to this URL: {why}", field="url")
    return url


def _types_check(event_types: list[str] | None) -> list[str]:
    wanted = list(dict.fromkeys(t.strip() for t in event_types or [] if t.strip()))
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise InvalidValue(
            f"Unknown event type {', '.join(map(repr, unknown[:5]))}: use "
            + ", ".join(EVENT_TYPES),
            field="event_types",
        )
    return wanted


def _secret_add(endpoint: WebhookEndpoint) -> str:
    secret = secret_generate()
    WebhookSecret.objects.create(endpoint=endpoint, secret=secret, prefix=secret[:12])
    return secret


@transaction.atomic
def endpoint_add(
    *,
    org: Org,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    actor: Actor,
) -> IssuedSecret:
    """Add an endpoint; it receives the changes from now on (not the org's history:
    replay for that). Returns its signing secret, shown this once."""
    types = _types_check(event_types)
    url = _url_check(url)
    Org.objects.select_for_update().get(pk=org.pk)
    if org.webhook_endpoints.count() >= MAX_ENDPOINTS:
        raise LimitReached(f"An org has at most {MAX_ENDPOINTS} webhook endpoints")
    last = ChangeEvent.objects.filter(org=org).order_by("-txid", "-id").first()
    start = Cursor.of(last) if last else Cursor()
    endpoint = WebhookEndpoint.objects.create(
        org=org,
        url=url,
        event_types=types,
        description=description.strip()[:200],
        cursor_txid=start.txid,
        cursor_id=start.id,
    )
    secret = _secret_add(endpoint)
    audit_record(org=org, actor=actor, action="webhook.add", target=url)
    return IssuedSecret(endpoint=endpoint, secret=secret)


def endpoint_get(*, org: Org, endpoint_id: str) -> WebhookEndpoint:
    """The org's endpoint, or NotFound (another org's too, or a malformed id)."""
    wanted = uuid_or_none(endpoint_id)
    endpoint = org.webhook_endpoints.filter(pk=wanted).first() if wanted else None
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {str(endpoint_id)[:40]!r} in this org")
    return endpoint


@transaction.atomic
def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    actor: Actor,
) -> WebhookEndpoint:
    """Change an endpoint. Enabling one that was disabled for failing tries again now,
    from where it stopped."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if url is not None:
        locked.url = _url_check(url)
    if event_types is not None:
        locked.event_types = _types_check(event_types)
    if description is not None:
        locked.description = description.strip()[:200]
    if enabled is not None and enabled != locked.enabled:
        locked.enabled = enabled
        if enabled:
            locked.disabled_reason = ""
            locked.failing_since, locked.failures, locked.next_attempt_at = None, 0, None
    locked.save()
    audit_record(org=locked.org, actor=actor, action="webhook.update", target=locked.url)
    return locked


@transaction.atomic
def endpoint_remove(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    audit_record(org=endpoint.org, actor=actor, action="webhook.remove", target=endpoint.url)
    endpoint.delete()


@transaction.atomic
def secret_rotate(*, endpoint: WebhookEndpoint, actor: Actor) -> IssuedSecret:
    """A new signing secret; the current one keeps signing for ROTATION_OVERLAP (so two
    are active), older ones stop now."""
    now = timezone.now()
    active = list(secrets_active(endpoint=endpoint, now=now))
    for old in active[:-1]:
        old.expires_at = now
        old.save(update_fields=["expires_at"])
    if active:
        active[-1].expires_at = now + ROTATION_OVERLAP
        active[-1].save(update_fields=["expires_at"])
    secret = _secret_add(endpoint)
    audit_record(org=endpoint.org, actor=actor, action="webhook.secret_rotate", target=endpoint.url)
    return IssuedSecret(endpoint=endpoint, secret=secret)


def secrets_active(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> list[WebhookSecret]:
    now = now or timezone.now()
    return [
        s
        for s in endpoint.secrets.order_by("created_at", "id")
        if s.expires_at is None or s.expires_at > now
    ]


@transaction.atomic
def endpoint_retry(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookEndpoint:
    """Try the endpoint's next change now, without waiting for its backoff (and enable
    it again if it was disabled for failing)."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    locked.next_attempt_at = None
    if not locked.enabled and locked.disabled_reason:
        locked.enabled, locked.disabled_reason = True, ""
        locked.failing_since, locked.failures = None, 0
    locked.save()
    audit_record(org=locked.org, actor=actor, action="webhook.retry", target=locked.url)
    return locked


@transaction.atomic
def endpoint_replay(*, endpoint: WebhookEndpoint, since: datetime, actor: Actor) -> int:
    """Deliver again every change since `since` (as far as the feed keeps them): the
    endpoint's cursor moves back to just before the first of them. Repeats carry their
    first webhook-id, so receivers can tell them apart. Returns how many changes it
    will send (of the types it wants)."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    org = locked.org
    first = (
        ChangeEvent.objects.filter(org=org, created_at__gte=since).order_by("txid", "id").first()
    )
    if first is None:
        return 0
    before = (
        ChangeEvent.objects.filter(org=org)
        .filter(txid__lte=first.txid)
        .exclude(txid=first.txid, id__gte=first.id)
        .order_by("-txid", "-id")
        .first()
    )
    start = Cursor.of(before) if before else Cursor(org.changes_pruned_txid, org.changes_pruned_id)
    locked.cursor_txid, locked.cursor_id = start.txid, start.id
    locked.failing_since, locked.failures, locked.next_attempt_at = None, 0, None
    locked.replays += 1
    locked.save()
    audit_record(
        org=org,
        actor=actor,
        action="webhook.replay",
        target=f"{locked.url} since {since:%Y-%m-%d %H:%M} UTC",
    )
    pending = ChangeEvent.objects.filter(org=org, created_at__gte=since)
    if locked.event_types:
        pending = pending.filter(type__in=locked.event_types)
    return pending.count()
