"""A real Celery worker, fed through a real Redis broker, sends a summary email."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from commandcenter.celery import app as celery_app
from directory.encryption import _derived_key
from directory.models import Org, ProvisioningEvent, SummaryLog
from directory.services import event_record
from directory.summaries import hour_start
from directory.tasks import summary_send as summary_send_task
from tests.actors import OPERATOR

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker_url(redis_url: str) -> str:
    return redis_url


def _database_url() -> str:
    """The test database, as the worker process must reach it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def encryption_env() -> dict[str, str]:
    """FIELD_ENCRYPTION_KEYS for a process the test starts with a SECRET_KEY of its own:
    the secrets this process stores (webhook signing secrets) must be readable there."""
    keys = ",".join(settings.FIELD_ENCRYPTION_KEYS) or _derived_key(settings.SECRET_KEY).decode()
    return {"FIELD_ENCRYPTION_KEYS": keys}


@pytest.fixture
def worker(broker_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    outbox = tmp_path / "outbox"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": broker_url,
        "SECRET_KEY": "worker-test-secret-key-not-for-production-use-0123456789",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
        # A test's webhook receiver listens on 127.0.0.1.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    } | encryption_env()
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "commandcenter", "worker",
            "--pool", "solo", "--concurrency", "1", "-Q", queue,
            "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "warning",
        ],
        # A file, not a pipe nobody reads: a chatty worker would block on a full pipe.
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield queue, outbox
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        # Shown by pytest when the test failed.
        print((tmp_path / "worker.log").read_text())


def test_a_worker_sends_the_summary_it_receives_through_redis(
    worker: tuple[str, Path], broker_url: str, org: Org, admin: Any
) -> None:
    queue, outbox = worker
    hour = hour_start(timezone.now()) - timedelta(hours=1)
    with time_machine.travel(hour + timedelta(minutes=7), tick=False):
        event_record(
            org=org,
            action=ProvisioningEvent.Action.USER_CREATE,
            outcome=ProvisioningEvent.Outcome.SUCCESS,
            resource_type="User",
            resource_name="worker@acme.example",
            actor=OPERATOR,
        )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write(broker_url) as conn:
            task: Any = summary_send_task  # celery-types omits apply_async's connection=
            task.apply_async((org.pk, hour.isoformat()), queue=queue, connection=conn)
    finally:
        celery_app.conf.task_always_eager = eager
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (outbox.exists() and any(outbox.iterdir())):
        time.sleep(0.25)
    files = list(outbox.iterdir()) if outbox.exists() else []
    assert len(files) == 1, "the worker sent no email within 90 s"
    message = email.message_from_string(files[0].read_text(), policy=email.policy.default)
    assert message["To"] == "alice@acme.example"
    assert "Acme Corp: 1 provisioning event" in str(message["Subject"])
    log = SummaryLog.objects.get(org=org, hour=hour)
    assert log.sent_at is not None and log.recipients == 1
