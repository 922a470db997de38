from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand

from directory.scheduler import Scheduler


class Command(BaseCommand):
    help = (
        "Run the hourly schedule without Celery beat (embedded mode: `manage.py serve` "
        "starts it). The same tasks as beat, at minute 0; missed hours are caught up."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = Scheduler(say=self.stdout.write)

        def stop(signum: int, frame: FrameType | None) -> None:
            scheduler.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.run()
