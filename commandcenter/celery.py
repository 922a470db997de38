"""The Celery app. Worker: celery -A commandcenter worker; beat: celery -A commandcenter beat.

Without REDIS_URL (embedded mode) tasks run eagerly in the calling process, and
`manage.py serve` runs the same schedule itself (see directory.scheduler)."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")

app = Celery("commandcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One static schedule, in code (no database scheduler).
app.conf.beat_schedule = {
    # https://crontab.guru/#0_*_*_*_* : minute 0 of every hour
    "summaries-hourly": {
        "task": "directory.tasks.summaries_dispatch",
        "schedule": crontab(minute=0),
    },
    # https://crontab.guru/#17_3_*_*_* : 03:17 every day
    "events-prune-daily": {
        "task": "directory.tasks.events_prune",
        "schedule": crontab(minute=17, hour=3),
    },
}
