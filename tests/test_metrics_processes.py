"""/metrics across processes: two real gunicorn workers' counters added up, and a real
Celery worker on a real Redis (the queue's length, the tasks' outcomes, and its log lines
carrying the id of the request that enqueued them)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from commandcenter.celery import app as celery_app
from directory import request_ids
from directory.tasks import ldap_sync as ldap_sync_task
from directory.tasks import summary_send as summary_send_task
from tests.metrics_scrape import METRICS_TOKEN, Samples, parse, value
from tests.scim.test_server_edge import _start
from tests.test_celery_worker import ROOT, _database_url, encryption_env

pytestmark = pytest.mark.django_db(transaction=True)


def _get(port: int, path: str, authorization: str) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("files", ["given", "private"])
def test_the_counts_of_two_gunicorn_workers_add_up(tmp_path: Path, files: str) -> None:
    env = {
        "METRICS_TOKEN": METRICS_TOKEN,
        "SCIM_AUTH_FAILURES_PER_MINUTE": "1000000",
        # As the Docker image runs it: JSON lines, an access line per request.
        "LOG_FORMAT": "json",
        "GUNICORN_CMD_ARGS": "--access-logfile -",
        "PYTHONWARNINGS": "ignore",  # WhiteNoise's note that collectstatic has not run
    }
    if files == "given":
        folder = tmp_path / "prometheus"
        folder.mkdir()
        (folder / "counter_1.db").write_bytes(b"a previous run's")  # emptied at start
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    log = tmp_path / "gunicorn.log"
    path = f"/scim/v2/{uuid.uuid4()}/Users"

    def access_lines() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in log.read_text().splitlines()]  # all JSON
        return [line for line in lines if line["logger"] == "gunicorn.access"]

    for server in _start("sync", log, env, workers=2):
        sent, ids = 0, set()
        # Until both workers have answered some.
        while len({line["pid"] for line in access_lines()}) < 2 or sent < 10:
            assert sent < 300, "one worker answered every request"
            status, headers, _ = _get(server.port, path, "Bearer not-a-token")
            assert status == 401
            ids.add(headers["x-request-id"])
            sent += 1
        assert len(ids) == sent
        status, _, body = _get(server.port, "/metrics", f"Bearer {METRICS_TOKEN}")
        assert status == 200
        samples = parse(body.decode())
    labels = {"method": "GET", "status": "401", "outcome": "unauthenticated"}
    assert value(samples, "commandcenter_scim_requests_total", **labels) == sent
    assert value(samples, "commandcenter_scim_auth_failures_total", reason="invalid") == sent
    assert value(samples, "commandcenter_scim_request_duration_seconds_count", method="GET") == sent
    assert "Traceback" not in log.read_text(), log.read_text()
    # Each access line has its request's id.
    access = [line for line in access_lines() if path in line["message"]]
    assert len(access) == sent and {line["request_id"] for line in access} == ids


def _worker(redis: str, queue: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis,
        "SECRET_KEY": "worker-test-secret-key-not-for-production-use-0123456789",
        "LOG_FORMAT": "json",
    } | encryption_env()
    return subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "commandcenter", "worker",
            "--pool", "solo", "--concurrency", "1", "-Q", queue,
            "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info",
        ],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_a_real_worker_drains_the_queue_counts_its_tasks_and_logs_the_request_id(
    own_redis: str, settings: Any, tmp_path: Path
) -> None:
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    settings.REDIS_URL = own_redis
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    settings.METRICS_TOKEN = METRICS_TOKEN
    scraper = Client(HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    def scrape() -> Samples:
        return parse(scraper.get("/metrics").content.decode())

    def tasks(samples: Samples, task: str, state: str) -> float:
        return value(samples, "commandcenter_celery_tasks_total", task=task, state=state)

    summary, ldap = "directory.tasks.summary_send", "directory.tasks.ldap_sync"
    request_id = uuid.uuid4()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    context = request_ids.request_id.set(request_id)  # as while a request is served
    try:
        with celery_app.connection_for_write(own_redis) as conn:
            send: Any = summary_send_task  # celery-types omits apply_async's connection=
            for _ in range(2):  # an org that is gone: skipped, and logged
                send.apply_async(
                    (999_999_999, "2026-11-24T09:00:00+00:00"), queue=queue, connection=conn
                )
            sync: Any = ldap_sync_task
            sync.apply_async(("not-an-org-id",), queue=queue, connection=conn)  # fails
    finally:
        request_ids.request_id.reset(context)
        celery_app.conf.task_always_eager = eager
    samples = scrape()
    assert value(samples, "commandcenter_celery_queue_length", queue=queue) == 3
    assert value(samples, "commandcenter_metrics_source_up", source="redis") == 1
    assert tasks(samples, summary, "success") == 0

    log = tmp_path / "worker.log"
    worker = _worker(own_redis, queue, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            samples = scrape()
            done = tasks(samples, summary, "success") == 2 and tasks(samples, ldap, "failure") == 1
            if done:
                break
            assert time.monotonic() < deadline, (
                "the worker ran nothing in 60 s:\n" + log.read_text()
            )
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert value(samples, "commandcenter_celery_queue_length", queue=queue) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    skipped = [
        line for line in lines if line["message"] == "Summary for deleted org 999999999 skipped"
    ]
    assert len(skipped) == 2, log.read_text()
    assert {line["request_id"] for line in skipped} == {str(request_id)}
    assert all(line["level"] == "INFO" and line["logger"] == "directory.tasks" for line in skipped)
