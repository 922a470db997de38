"""Embedded mode: `manage.py serve` runs gunicorn and the hourly schedule, without Redis,
and stops both on SIGTERM or Ctrl-C."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from directory.models import Org, ProvisioningEvent, SummaryLog
from directory.services import event_record
from directory.summaries import hour_start
from tests.actors import OPERATOR
from tests.conftest import free_port
from tests.test_celery_worker import ROOT, _database_url

pytestmark = pytest.mark.django_db(transaction=True)


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own server)
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop", ["SIGTERM to serve", "Ctrl-C in its terminal"])
def test_serve_runs_the_site_and_the_hourly_summaries_and_stops_both(
    stop: str, org: Org, admin: Any, tmp_path: Path
) -> None:
    hour = hour_start(timezone.now()) - timedelta(hours=1)
    with time_machine.travel(hour + timedelta(minutes=7), tick=False):
        event_record(
            org=org,
            action=ProvisioningEvent.Action.USER_CREATE,
            outcome=ProvisioningEvent.Outcome.SUCCESS,
            resource_type="User",
            resource_name="embedded@acme.example",
            actor=OPERATOR,
        )
    outbox = tmp_path / "outbox"
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # Embedded mode, and no SITE_URL: serve must derive it from the port it serves.
        if key not in ("REDIS_URL", "SECRET_KEY", "SECRET_KEY_FILE", "SITE_URL")
    }
    env |= {
        "DATABASE_URL": _database_url(),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
    }
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [
            sys.executable, str(ROOT / "manage.py"), "serve",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        # Run from elsewhere: serve must not depend on its working directory.
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: we can tell when all of it is gone
    )  # fmt: skip
    pgid = serve.pid
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            _status(f"http://127.0.0.1:{port}/accounts/login/") == 200
            and outbox.exists()
            and any(outbox.iterdir())
        ):
            assert serve.poll() is None, "serve exited early"
            time.sleep(0.25)
        assert _status(f"http://127.0.0.1:{port}/accounts/login/") == 200
        files = list(outbox.iterdir()) if outbox.exists() else []
        assert len(files) == 1, "the embedded scheduler sent no summary within 60 s"
        message = email.message_from_string(files[0].read_text(), policy=email.policy.default)
        assert message["To"] == "alice@acme.example"
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        assert f"http://127.0.0.1:{port}/o/acme/" in body.get_content()
        log_row = SummaryLog.objects.get(org=org, hour=hour)
        assert log_row.sent_at is not None and log_row.recipients == 1

        if stop == "SIGTERM to serve":
            serve.send_signal(signal.SIGTERM)  # what a process manager does
        else:
            os.killpg(pgid, signal.SIGINT)  # a terminal sends it to the whole group
        assert serve.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(0.1)
        assert not _group_alive(pgid), "gunicorn or the scheduler outlived serve"
        assert _status(f"http://127.0.0.1:{port}/accounts/login/") is None
        banner = (tmp_path / "serve.log").read_text()
        assert f"Base URLs start http://127.0.0.1:{port}" in banner
    finally:
        if _group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        serve.wait(timeout=10)
        log.close()
        print((tmp_path / "serve.log").read_text())  # shown when the test failed
