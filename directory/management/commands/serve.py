from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Serve Command Center with gunicorn. In embedded mode (no REDIS_URL) it also runs "
        "the hourly schedule (`manage.py scheduler`), so summaries work without Celery."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        web = [
            sys.executable, "-m", "gunicorn", "commandcenter.wsgi:application",
            "--bind", bind, "--workers", str(options["workers"]), "--access-logfile", "-",
            # Its default control socket is one path per user: two instances would clash.
            "--no-control-socket",
        ]  # fmt: skip
        # From the project root, so `serve` works from any working directory.
        root = Path(settings.BASE_DIR)
        children = [subprocess.Popen(web, cwd=root)]
        if settings.EMBEDDED:
            scheduler = [sys.executable, str(root / "manage.py"), "scheduler"]
            children.append(subprocess.Popen(scheduler, cwd=root))
        self.stdout.write(f"Command Center on http://{bind}/ (Base URLs start {settings.SITE_URL})")
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping and all(c.poll() is None for c in children):
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c.returncode for c in children if c.returncode not in (0, -signal.SIGTERM)]
        if failed and not stopping:
            raise SystemExit(1)
