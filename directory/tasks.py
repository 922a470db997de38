"""Celery tasks: thin interfaces that load by id and call directory.summaries.

Callers import them with a _task suffix: `from directory.tasks import summary_send as
summary_send_task`."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from directory import summaries
from directory.errors import Conflict, NotFound
from directory.models import LdapSyncRun, Org
from directory.schedule import SUMMARIES
from directory.services import changes, scim_requests
from directory.services.ldap_sync import ldap_sync as ldap_sync_service
from directory.services.ldap_sync import ldap_sync_busy, ldap_sync_due
from directory.services.users import users_grace_expired_delete

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def summaries_dispatch() -> int:
    """Minute 0 (directory.schedule): queue the summary of every org with events in an
    ended hour."""
    return summaries.summaries_dispatch(send=summary_send.delay)


# Sending is retried with the summaries' backoff in the schedule (1, 2, 4, 8, 16 minutes);
# the claim in summary_send keeps every retry from sending twice. A failed send releases
# its claim, so after the last retry the next hourly dispatch tries again (for 24 hours).
@shared_task(bind=True, ignore_result=True, **SUMMARIES.retry.celery_options())
def summary_send(self: object, org_id: int, hour: str) -> int:
    org = Org.objects.filter(pk=org_id).first()
    if org is None:
        logger.info("Summary for deleted org %s skipped", org_id)
        return 0
    return summaries.summary_send(org=org, hour=datetime.fromisoformat(hour))


@shared_task(ignore_result=True)
def deprovision_grace_expire() -> int:
    """Hourly (directory.schedule): delete the users whose deprovisioning grace period
    has run out."""
    return users_grace_expired_delete()


@shared_task(ignore_result=True)
def events_prune() -> int:
    """Daily (directory.schedule): drop events older than the retention period."""
    return summaries.events_prune()


@shared_task(ignore_result=True)
def scim_requests_prune() -> int:
    """Daily (directory.schedule): drop provisioning log entries older than the
    retention period."""
    return scim_requests.scim_requests_prune()


@shared_task(ignore_result=True)
def changes_prune() -> int:
    """Daily (directory.schedule): drop change events older than each org keeps them
    (and their webhook deliveries with them)."""
    return changes.changes_prune()


@shared_task(ignore_result=True)
def ldap_sync_dispatch() -> int:
    """Hourly (directory.schedule): queue a sync of every org whose LDAP directory is on."""
    due = ldap_sync_due()
    for org_id in due:
        ldap_sync.delay(org_id)
    return len(due)


# No retries: a failed run is recorded (its error in the console) and the next hour's
# run tries again. A first sync of a large directory outlasts the default task limits
# (CELERY_TASK_TIME_LIMIT, 5 minutes: about 100,000 users at the benchmark's rate), so
# this task has its own, under the hour after which a run's claim is stale
# (directory.services.ldap_sync.STALE_CLAIM); past the soft limit the run ends as failed
# and the next one carries on from what it wrote.
@shared_task(ignore_result=True, soft_time_limit=50 * 60, time_limit=55 * 60)
def ldap_sync(org_id: int, trigger: str = "schedule") -> str:
    org = Org.objects.filter(pk=org_id).first()
    if org is None:
        return "deleted"
    try:
        return ldap_sync_service(org=org, trigger=trigger).status
    except (NotFound, Conflict) as e:  # removed meanwhile, or a run already holds it
        logger.info("LDAP sync of %s skipped: %s", org.slug, e)
        return "skipped"


def ldap_sync_start(*, org: Org, trigger: str) -> LdapSyncRun | None:
    """Sync now, for the console's and the API's "Sync now": queued for a worker, so a
    large directory never holds a web request (without Redis, the embedded default, it
    runs here and now). Returns the run when it has started or ended by the time this
    returns, else None (queued). Conflict when a run holds the directory already."""
    if ldap_sync_busy(org=org):
        raise Conflict("A sync of this directory is running: its totals appear when it ends")
    asked = timezone.now()
    ldap_sync.delay(org.pk, trigger)
    run = org.ldap_runs.order_by("-started_at").first()
    return run if run is not None and run.started_at >= asked else None
