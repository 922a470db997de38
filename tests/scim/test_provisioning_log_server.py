"""The provisioning log as a real gunicorn writes it: buffered in the worker (the
request costs no write), written by its flusher thread every SCIM_REQUEST_LOG_FLUSH_MS,
and written once more when the worker stops, so that a clean stop loses no entry."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from directory.models import Org, ScimDirectory, ScimRequest
from tests.scim.test_server_edge import Server, _start

pytestmark = pytest.mark.django_db(transaction=True)


def _get(server: Server, directory: ScimDirectory, token: str, user_agent: str) -> int:
    raw = (
        f"GET /scim/v2/{directory.id}/Users?count=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nUser-Agent: {user_agent}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    status, _, _ = server.send(raw)
    return status


def test_a_worker_writes_its_entries_every_flush_interval(
    org: Org, directory: ScimDirectory, token: str, tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    for server in _start("sync", log, {"SCIM_REQUEST_LOG_FLUSH_MS": "200"}):
        for n in range(3):
            assert _get(server, directory, token, f"Okta SCIM Client {n}") == 200
        deadline = time.monotonic() + 5
        while org.scim_requests.count() < 3:
            assert time.monotonic() < deadline, "the flusher wrote nothing in 5 s"
            time.sleep(0.05)
    assert org.scim_requests.filter(idp=ScimRequest.Idp.OKTA).count() == 3
    assert "Traceback" not in log.read_text(), log.read_text()


def test_a_stopping_worker_writes_what_its_buffer_holds(
    org: Org, directory: ScimDirectory, token: str, tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    # A flush interval longer than the test: only the worker's exit can write them.
    for server in _start("sync", log, {"SCIM_REQUEST_LOG_FLUSH_MS": "600000"}):
        for n in range(3):
            assert _get(server, directory, token, f"Entra provisioning {n}") == 200
        time.sleep(0.5)
        assert org.scim_requests.count() == 0  # buffered: the requests wrote nothing
    # _start's cleanup has stopped gunicorn (SIGTERM) and waited for it.
    assert org.scim_requests.count() == 3
    assert "Traceback" not in log.read_text(), log.read_text()
