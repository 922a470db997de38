"""The Celery app. Worker: celery -A commandcenter worker; beat: celery -A commandcenter beat.

Without REDIS_URL (embedded mode) tasks run eagerly in the calling process, and
`manage.py serve` runs the same schedule itself (directory.schedule, directory.scheduler).

Its signals: a task enqueued while a request is served carries the request's id in its
headers and the worker logs with it (directory.request_ids); every finished task is
counted for /metrics (directory.metrics); the worker and beat log through Django's
LOGGING (LOG_FORMAT) instead of Celery's own format."""

from __future__ import annotations

import contextvars
import logging
import os
import uuid
from typing import Any

from celery import Celery
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_success,
)

from directory import metrics, request_ids
from directory.ids import uuid_or_none
from directory.schedule import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")

app = Celery("commandcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One static schedule, in code (no database scheduler): the table in directory.schedule,
# which the embedded scheduler runs too.
app.conf.beat_schedule = beat_schedule()


@setup_logging.connect
def _django_logging(loglevel: Any = None, **kwargs: Any) -> None:
    """Django has configured logging (LOGGING: JSON lines with LOG_FORMAT=json, each with
    its request_id); Celery keeps it, and `-l` still sets the level."""
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    current = request_ids.request_id.get()
    if current is not None and headers is not None:
        headers.setdefault("request_id", str(current))


_task_contexts: dict[str, contextvars.Token[uuid.UUID | None]] = {}


@task_prerun.connect
def _request_id_in(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    carried = uuid_or_none(getattr(task.request, "request_id", None)) if task else None
    if carried is not None:
        _task_contexts[task_id] = request_ids.request_id.set(carried)


@task_postrun.connect
def _request_id_out(task_id: str = "", **kwargs: Any) -> None:
    context = _task_contexts.pop(task_id, None)
    if context is not None:
        request_ids.request_id.reset(context)


@task_success.connect
def _count_success(sender: Any = None, **kwargs: Any) -> None:
    metrics.shared_count("tasks", f"{sender.name}|success")


@task_failure.connect
def _count_failure(sender: Any = None, **kwargs: Any) -> None:
    metrics.shared_count("tasks", f"{sender.name}|failure")


@task_retry.connect
def _count_retry(sender: Any = None, **kwargs: Any) -> None:
    metrics.shared_count("tasks", f"{sender.name}|retry")
