from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Command Center with gunicorn (the embedded default, or behind a proxy)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        self.stdout.write(f"Command Center on http://{bind}/ (SCIM base: {settings.SITE_URL})")
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "commandcenter.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(options["workers"]),
            "--access-logfile",
            "-",
        ]
        sys.stdout.flush()
        os.execv(sys.executable, argv)
