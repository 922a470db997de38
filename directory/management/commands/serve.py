from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def serve_host(host: str) -> str:
    """The host to put in links for a server bound to `host` (a wildcard means this machine)."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (naming the wildcard, not binding to it)
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


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
            # The limits and workers every deployment shares (commandcenter/gunicorn_conf.py).
            "-c", "python:commandcenter.gunicorn_conf",
            "--bind", bind, "--workers", str(options["workers"]), "--access-logfile", "-",
            # Its default control socket is one path per user: two instances would clash.
            "--no-control-socket",
        ]  # fmt: skip
        env = dict(os.environ)
        site_url = settings.SITE_URL
        if "SITE_URL" not in env:
            # Base URLs, links in emails and sign-in links name the port actually served.
            site_url = f"http://{serve_host(options['host'])}:{options['port']}"
            env["SITE_URL"] = site_url
        # From the project root, so `serve` works from any working directory.
        root = Path(settings.BASE_DIR)
        children = [subprocess.Popen(web, cwd=root, env=env)]
        if settings.EMBEDDED:
            scheduler = [sys.executable, str(root / "manage.py"), "scheduler"]
            children.append(subprocess.Popen(scheduler, cwd=root, env=env))
        self.stdout.write(f"Command Center on http://{bind}/ (Base URLs start {site_url})")
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
