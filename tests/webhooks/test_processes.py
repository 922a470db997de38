"""Webhooks delivered by the processes that deliver them in production and in embedded
mode: a real Celery worker fed through Redis, and `manage.py serve`'s scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from commandcenter.celery import app as celery_app
from directory.models import Org
from directory.services import UserFields, user_create
from tests.actors import OPERATOR
from tests.conftest import free_port
from tests.test_celery_worker import (  # noqa: F401 (fixtures)
    ROOT,
    _database_url,
    broker_url,
    encryption_env,
    worker,
)
from tests.webhooks.conftest import Receiver
from webhooks.services import IssuedSecret
from webhooks.tasks import webhooks_deliver

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(receiver: Receiver, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while len(receiver.deliveries) < count and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.celery_worker
def test_a_celery_worker_delivers_the_changes(
    worker: tuple[str, Path],  # noqa: F811
    broker_url: str,  # noqa: F811
    org: Org,
    hook: IssuedSecret,
    receiver: Receiver,
) -> None:
    queue, _ = worker
    user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write(broker_url) as conn:
            task: Any = webhooks_deliver
            task.apply_async(queue=queue, connection=conn)
    finally:
        celery_app.conf.task_always_eager = eager
    _wait_for(receiver, 2, 60)
    assert receiver.types == ["user.created", "seat.assigned"]
    receiver.deliveries[0].verified_with(hook.secret)


def test_embedded_mode_delivers_from_the_scheduler_of_serve(
    org: Org, hook: IssuedSecret, receiver: Receiver, tmp_path: Path
) -> None:
    port = free_port()
    env = (
        {
            key: value
            for key, value in os.environ.items()
            if key not in ("REDIS_URL", "SECRET_KEY", "SECRET_KEY_FILE", "SITE_URL")
        }
        | {"DATABASE_URL": _database_url(), "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}
        | encryption_env()
    )
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [
            sys.executable, str(ROOT / "manage.py"), "serve",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
        # The scheduler runs the delivery job at its start, then every 5 seconds.
        _wait_for(receiver, 2, 60)
        assert receiver.types == ["user.created", "seat.assigned"]
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=30)
        log.close()
        print((tmp_path / "serve.log").read_text())
