"""/metrics: what operators scrape (Prometheus text format), behind METRICS_TOKEN.

The SCIM counters come from directory.metrics: under gunicorn, added up over every
worker's files in PROMETHEUS_MULTIPROC_DIR (commandcenter.gunicorn_conf), otherwise this
process's own. The rest is read when scraped: the Celery queue's length and the worker's
counts on Redis, the webhook backlog from the database. docs/operations.md lists them.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from directory import metrics
from webhooks.backlog import webhook_backlog

logger = logging.getLogger(__name__)


class _ThisProcess:
    """The process's own registry (no multiprocess directory)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class _ReadWhenScraped:
    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "commandcenter_metrics_source_up",
            "Whether the scrape could read a source (1) or not (0)",
            labels=["source"],
        )
        if settings.REDIS_URL:
            try:
                yield from self._broker()
                up.add_metric(["redis"], 1)
            except Exception:
                logger.warning("/metrics could not read Redis", exc_info=True)
                up.add_metric(["redis"], 0)
        else:
            yield from self._worker_counts()
        try:
            yield from self._webhooks()
            up.add_metric(["database"], 1)
        except Exception:
            logger.warning("/metrics could not read the webhook backlog", exc_info=True)
            up.add_metric(["database"], 0)
        yield up

    def _broker(self) -> Iterator[Metric]:
        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        depth = GaugeMetricFamily(
            "commandcenter_celery_queue_length",
            "Tasks waiting in the Celery broker queue",
            labels=["queue"],
        )
        for name, length in metrics.broker_queue_depths([queue]).items():
            depth.add_metric([name], length)
        yield depth
        yield from self._worker_counts()

    def _worker_counts(self) -> Iterator[Metric]:
        tasks = CounterMetricFamily(
            "commandcenter_celery_tasks",
            "Celery tasks finished, by task and state (success, failure, retry)",
            labels=["task", "state"],
        )
        for field, count in sorted(metrics.shared_counts("tasks").items()):
            task, _, state = field.rpartition("|")
            tasks.add_metric([task, state], count)
        yield tasks
        emails = CounterMetricFamily(
            "commandcenter_summary_emails",
            "Hourly summary emails sent, and those of sends that failed (each is retried)",
            labels=["outcome"],
        )
        counts = metrics.shared_counts("summary_emails")
        for outcome in ("sent", "failed"):
            emails.add_metric([outcome], counts.get(outcome, 0))
        yield emails

    def _webhooks(self) -> Iterator[Metric]:
        backlog = webhook_backlog()
        endpoints = GaugeMetricFamily(
            "commandcenter_webhook_endpoints",
            "Webhook endpoints by state: enabled, disabled, behind (enabled, with changes "
            "waiting), failing (enabled, held at a change that failed)",
            labels=["state"],
        )
        for state in ("enabled", "disabled", "behind", "failing"):
            endpoints.add_metric([state], getattr(backlog, state))
        yield endpoints
        yield GaugeMetricFamily(
            "commandcenter_webhook_oldest_failure_seconds",
            "How long the longest-failing enabled endpoint has been failing (0: none is)",
            value=backlog.oldest_failure_seconds,
        )


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_ReadWhenScraped())
    return registry


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        return HttpResponse(
            "Send 'Authorization: Bearer <METRICS_TOKEN>'\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
