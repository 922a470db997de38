from __future__ import annotations

import signal
import time
from datetime import timedelta
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from directory.tasks import events_prune as events_prune_task
from directory.tasks import summaries_dispatch as summaries_dispatch_task


class Command(BaseCommand):
    help = (
        "Run the hourly schedule without Celery beat (embedded mode: `manage.py serve` "
        "starts it). The same tasks as beat, at minute 0; missed hours are caught up."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.running = True

        def stop(signum: int, frame: FrameType | None) -> None:
            self.running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("Scheduler: hourly summaries at minute 0, event pruning daily")
        last_prune = None
        next_run = timezone.now()  # catch up at once on start
        while self.running:
            if timezone.now() >= next_run:
                close_old_connections()
                try:
                    # apply(): run here and now; the sends it queues run eagerly too.
                    summaries_dispatch_task.apply()
                    if last_prune is None or timezone.now() - last_prune > timedelta(days=1):
                        events_prune_task.apply()
                        last_prune = timezone.now()
                except Exception as e:  # keep the schedule alive; the next hour retries
                    self.stderr.write(f"Scheduler: run failed: {e}")
                now = timezone.now()
                next_run = now.replace(minute=0, second=5, microsecond=0) + timedelta(hours=1)
            time.sleep(1)
