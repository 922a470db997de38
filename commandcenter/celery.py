"""The Celery app. Worker: celery -A commandcenter worker; beat: celery -A commandcenter beat.

Without REDIS_URL (embedded mode) tasks run eagerly in the calling process, and
`manage.py serve` runs the same schedule itself (directory.schedule, directory.scheduler)."""

from __future__ import annotations

import os

from celery import Celery

from directory.schedule import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")

app = Celery("commandcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One static schedule, in code (no database scheduler): the table in directory.schedule,
# which the embedded scheduler runs too.
app.conf.beat_schedule = beat_schedule()
