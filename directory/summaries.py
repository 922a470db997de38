"""Hourly summary emails of provisioning events: one per org and ended hour, exactly once.

An (org, hour) is claimed by inserting its SummaryLog row before anything is sent and
marked sent after, so a second beat, a retry or a restart finds the claim and stops.
A send that fails releases its claim for the retry; a worker that died mid-send leaves
a claim that another may take over once its lease has run out. (Only a death in the
instant between the mail server accepting the message and the row being marked sent
could then repeat an email; resending is preferred to dropping a summary.) The lease
is longer than the task time limit, so a live send is never taken over.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.db.models.functions import TruncHour
from django.template.loader import render_to_string
from django.utils import timezone

from directory import metrics
from directory.batches import delete_batched
from directory.models import IdentityProvider, Org, OrgAdmin, ProvisioningEvent, SummaryLog
from directory.saml_metadata import certificates_expiring, not_after

logger = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=24)
LEASE = timedelta(minutes=15)
MAX_FAILURES_LISTED = 20
MAX_DISABLED_LISTED = 50


def hour_start(when: datetime) -> datetime:
    """The start of the hour `when` falls in."""
    return when.replace(minute=0, second=0, microsecond=0)


def summaries_due(
    *, now: datetime | None = None, org: Org | None = None
) -> list[tuple[int, datetime]]:
    """(org id, hour) pairs whose hour has ended within the last 24 hours, that had
    events, and whose summary has not been sent. Successful sign-ins alone do not make
    an hour due (every busy org would get an email every hour); refused ones do."""
    now = now or timezone.now()
    end = hour_start(now)
    events = ProvisioningEvent.objects.filter(
        created_at__gte=end - CATCH_UP, created_at__lt=end
    ).exclude(action=ProvisioningEvent.Action.SIGNIN, outcome=ProvisioningEvent.Outcome.SUCCESS)
    if org is not None:
        events = events.filter(org=org)
    hours = {
        (row["org_id"], row["hour"])
        for row in events.annotate(hour=TruncHour("created_at")).values("org_id", "hour").distinct()
    }
    sent = set(
        SummaryLog.objects.filter(hour__gte=end - CATCH_UP, sent_at__isnull=False).values_list(
            "org_id", "hour"
        )
    )
    return sorted(hours - sent, key=lambda pair: (pair[1], pair[0]))


def summaries_unsent(*, now: datetime | None = None) -> int:
    """How many (org, hour) summaries of the catch-up window were claimed but not sent:
    their send failed (or is under way), and a later run has to send them."""
    now = now or timezone.now()
    return SummaryLog.objects.filter(
        hour__gte=hour_start(now) - CATCH_UP, sent_at__isnull=True
    ).count()


def summaries_dispatch(*, send: Callable[[int, str], object], now: datetime | None = None) -> int:
    """Queue one summary per due (org, hour) with `send(org_id, hour_iso)` (the send
    task's `delay`: directory.tasks passes it in); returns how many were queued.

    Beat calls this at minute 0 every hour; it also catches up on hours missed while
    the service was down."""
    due = summaries_due(now=now)

    def enqueue(org_id: int, hour: datetime) -> None:
        # robust: a send that cannot be queued (broker down) or, run eagerly in embedded
        # mode, keeps failing after its retries is logged and left unsent for the next
        # dispatch; it must not keep the other orgs' summaries from going out.
        transaction.on_commit(lambda: send(org_id, hour.isoformat()), robust=True)

    for org_id, hour in due:
        enqueue(org_id, hour)
    return len(due)


def _claim(*, org: Org, hour: datetime, now: datetime) -> SummaryLog | None:
    """Claim the (org, hour) summary, or None if it is sent or someone else holds it."""
    try:
        with transaction.atomic():
            return SummaryLog.objects.create(org=org, hour=hour, attempts=1)
    except IntegrityError:
        pass
    log = SummaryLog.objects.get(org=org, hour=hour)
    if log.sent_at is not None or log.claimed_at > now - LEASE:
        return None
    # An old claim that was never marked sent: its holder failed or died. Take it over,
    # unless another worker did so first (the conditional UPDATE tells).
    taken = SummaryLog.objects.filter(
        pk=log.pk, sent_at__isnull=True, claimed_at=log.claimed_at
    ).update(claimed_at=now, attempts=log.attempts + 1)
    if taken != 1:
        return None
    log.refresh_from_db()
    return log


def summary_build(*, org: Org, hour: datetime) -> dict[str, Any]:
    """Everything the summary email of (org, hour) shows: its provisioning events, and
    its sign-ins counted apart."""
    in_hour = org.events.filter(created_at__gte=hour, created_at__lt=hour + timedelta(hours=1))
    signins = in_hour.filter(action=ProvisioningEvent.Action.SIGNIN)
    signin_outcomes = Counter(dict(signins.values_list("outcome").annotate(n=Count("id"))))
    refusals = Counter(
        dict(
            signins.filter(outcome=ProvisioningEvent.Outcome.FAILURE)
            .values_list("details__reason")
            .annotate(n=Count("id"))
        )
    )
    events = in_hour.exclude(action=ProvisioningEvent.Action.SIGNIN)
    outcomes = Counter(dict(events.values_list("outcome").annotate(n=Count("id"))))
    actions = dict(events.values_list("action").annotate(n=Count("id")))
    labels = dict(ProvisioningEvent.Action.choices)
    failures = events.filter(outcome=ProvisioningEvent.Outcome.FAILURE).order_by("created_at", "id")
    disabled = events.filter(outcome=ProvisioningEvent.Outcome.DISABLED).order_by(
        "created_at", "id"
    )
    no_seat = events.filter(details__no_seat=True).count()
    not_in_access = events.filter(details__access="NOT_IN_ACCESS_GROUPS").count()
    query = urlencode(
        {
            "outcome": "failure",
            "from": hour.isoformat(),
            "to": (hour + timedelta(hours=1)).isoformat(),
        }
    )
    total = sum(outcomes.values())
    return {
        "expiring_certificates": _certificates_expiring(org),
        "org": org,
        "hour": hour,
        "hour_end": hour + timedelta(hours=1),
        "total": total,
        "successes": outcomes.get("success", 0),
        "failures": outcomes.get("failure", 0),
        "disabled": outcomes.get("disabled", 0),
        "no_seat": no_seat,
        "not_in_access": not_in_access,
        "signins_ok": signin_outcomes.get("success", 0),
        "signins_refused": signin_outcomes.get("failure", 0),
        "refusal_reasons": sorted(
            ((str(reason or "unknown"), n) for reason, n in refusals.items()),
            key=lambda item: (-item[1], item[0]),
        ),
        "actions": sorted(
            ((labels.get(a, a), n) for a, n in actions.items()), key=lambda item: -item[1]
        ),
        "failure_list": list(failures[:MAX_FAILURES_LISTED]),
        "more_failures": max(0, outcomes.get("failure", 0) - MAX_FAILURES_LISTED),
        "disabled_list": list(disabled[:MAX_DISABLED_LISTED]),
        "more_disabled": max(0, outcomes.get("disabled", 0) - MAX_DISABLED_LISTED),
        "events_url": f"{settings.SITE_URL}/o/{org.slug}/events/?{query}",
        "settings_url": f"{settings.SITE_URL}/o/{org.slug}/settings/",
    }


def _certificates_expiring(org: Org) -> list[dict[str, Any]]:
    """The org's IdP signing certificates that expire within 30 days (or have expired),
    as of the send: an email that is due anyway says so; it never makes one due."""
    idp = IdentityProvider.objects.filter(org=org, protocol=IdentityProvider.Protocol.SAML).first()
    if idp is None:
        return []
    now = timezone.now()
    return [
        {"sha256": c["sha256"], "not_after": not_after(c), "expired": not_after(c) <= now}
        for c in certificates_expiring(idp.certificates, now=now)
    ]


def summary_messages(*, org: Org, hour: datetime) -> list[EmailMultiAlternatives]:
    """One message per opted-in admin of the org (admins never see each other's address)."""
    context = summary_build(org=org, hour=hour)
    if context["total"] == 0 and context["signins_refused"] == 0:
        return []
    subject = " ".join(render_to_string("emails/summary-subject.txt", context).split())
    text = render_to_string("emails/summary-body.txt", context)
    html = render_to_string("emails/summary-body.html", context)
    recipients = (
        OrgAdmin.objects.filter(org=org, summary_emails=True, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
        .order_by("user__email")
    )
    messages: list[EmailMultiAlternatives] = []
    for address in recipients:
        message = EmailMultiAlternatives(subject, text, to=[address])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return messages


def summary_send(*, org: Org, hour: datetime) -> int:
    """Send the summary of (org, hour) unless it was sent or is being sent; returns the
    number of emails sent. A failure releases the claim and re-raises, for a retry."""
    now = timezone.now()
    hour = hour_start(hour)
    if hour + timedelta(hours=1) > now:
        return 0  # the hour has not ended
    log = _claim(org=org, hour=hour, now=now)
    if log is None:
        return 0
    messages: list[EmailMultiAlternatives] = []
    try:
        messages = summary_messages(org=org, hour=hour)
        if messages:
            get_connection().send_messages(messages)
    except Exception as e:
        SummaryLog.objects.filter(pk=log.pk, sent_at__isnull=True).update(
            claimed_at=now - LEASE - timedelta(seconds=1), error=str(e)[:2000]
        )
        logger.warning("Summary of %s for %s failed: %s", org.slug, hour, e)
        metrics.shared_count("summary_emails", "failed", max(1, len(messages)))
        raise
    SummaryLog.objects.filter(pk=log.pk).update(
        sent_at=timezone.now(), recipients=len(messages), error=""
    )
    if messages:  # once the log says so: counting must never delay that
        metrics.shared_count("summary_emails", "sent", len(messages))
    return len(messages)


def events_prune(*, now: datetime | None = None) -> int:
    """Delete events older than EVENT_RETENTION_DAYS; returns how many. Org by org, in
    batches of their own transactions (directory.batches)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EVENT_RETENTION_DAYS)
    return sum(
        delete_batched(
            ProvisioningEvent.objects.filter(org_id=org_id, created_at__lt=cutoff),
            order=["-created_at"],
        )
        for org_id in Org.objects.values_list("pk", flat=True)
    )
