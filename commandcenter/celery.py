"""The Celery app. Worker: celery -A commandcenter worker; beat: celery -A commandcenter beat."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")

app = Celery("commandcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
