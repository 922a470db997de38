"""What gunicorn refuses itself, before Django, still answers an IdP in SCIM Error JSON.

A real gunicorn with commandcenter.gunicorn_conf, on the test database, fed raw bytes;
and a check that every way of serving the app (Dockerfile, `manage.py serve`,
bench/run.sh) really passes that configuration."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import call_command
from gunicorn.app.wsgiapp import WSGIApplication
from gunicorn.workers import sync

from commandcenter import gunicorn_workers
from directory.models import ScimDirectory
from scim import errors as scim_errors
from scim.schema import ERROR_SCHEMA
from tests.conftest import free_port
from tests.test_celery_worker import ROOT, _database_url

BODY_LIMIT = 4096  # the server's SCIM_MAX_BODY_BYTES, small so a test can exceed it
CONFIG = "python:commandcenter.gunicorn_conf"
WORKERS: dict[str, list[str]] = {
    "sync": [],  # the config's own worker class (Dockerfile, serve)
    "gthread": [  # for a deployment that serves with threads
        "--worker-class", "commandcenter.gunicorn_workers.ThreadWorker", "--threads", "2",
    ],
}  # fmt: skip


@dataclass
class Server:
    port: int
    log: Path

    def send(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send `raw` on a new connection; the status, headers and body of the answer,
        read until the server closes the connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as s:
            s.sendall(raw)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        assert status_line.startswith("HTTP/1.1 "), data[:200]
        return int(status_line.split()[1]), headers, body


def _start(
    worker: str, log: Path, extra_env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[Server]:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # Embedded mode (local cache), whatever the CI environment says.
        if key not in ("REDIS_URL", "SITE_URL", "SECRET_KEY", "SECRET_KEY_FILE")
    }
    env |= {
        "DATABASE_URL": _database_url(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SCIM_MAX_BODY_BYTES": str(BODY_LIMIT),
    } | (extra_env or {})
    with contextlib.ExitStack() as cleanup:
        out = cleanup.enter_context(log.open("w"))
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "commandcenter.wsgi:application",
                "-c", CONFIG, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                "--no-control-socket", *WORKERS[worker],
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip

        def stop() -> None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)

        cleanup.callback(stop)
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not listen:\n" + log.read_text()
                time.sleep(0.05)
        yield Server(port=port, log=log)


@pytest.fixture(scope="module", params=sorted(WORKERS))
def server(
    request: pytest.FixtureRequest, django_db_setup: None, tmp_path_factory: Any
) -> Iterator[Server]:
    # One server per worker class for the module; each test's directory and token are
    # committed to the test database (transaction=True), where the server reads them.
    log = tmp_path_factory.mktemp("edge") / f"gunicorn-{request.param}.log"
    yield from _start(request.param, log)
    # The workers' error handling must never fail itself, nor crash a worker.
    assert "Traceback" not in log.read_text(), log.read_text()


pytestmark = pytest.mark.django_db(transaction=True)


def _request(
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
    extra: str = "",
) -> bytes:
    # Connection: close, so that an answer ends where the connection does (gthread
    # keeps connections alive otherwise); the edge's refusals close it regardless.
    lines = [f"{method} {target} {version}", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode("latin-1") + body


def _scim_error(answer: tuple[int, dict[str, str], bytes], status: int) -> dict[str, Any]:
    code, headers, body = answer
    assert code == status, body
    assert headers["content-type"] == "application/scim+json", body
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    assert b"<html" not in body.lower()
    doc: dict[str, Any] = json.loads(body)
    assert doc["schemas"] == [ERROR_SCHEMA]
    assert doc["status"] == str(status)
    assert doc["detail"]
    return doc


@pytest.fixture
def scim(directory: ScimDirectory, token: str) -> tuple[str, dict[str, str]]:
    return f"/scim/v2/{directory.id}", {"Authorization": f"Bearer {token}"}


def _or_chain(length: int) -> str:
    """A filter of `userName eq "..." or ...` clauses whose query string is about
    `length` bytes once percent-encoded, but under the filter parser's 4,096 characters."""
    clauses: list[str] = []
    while len(quote(" or ".join(clauses))) < length:
        clauses.append(f'userName eq "user{len(clauses)}@acme.example"')
    return " or ".join(clauses)


def test_a_request_line_over_gunicorns_default_reaches_django(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    target = f"{base}/Users?filter={quote(_or_chain(4950))}"
    assert 4094 < len(f"GET {target} HTTP/1.1") < 8190
    code, headers, body = server.send(_request("GET", target, auth))
    assert code == 200, body
    assert headers["content-type"] == "application/scim+json"
    assert json.loads(body)["totalResults"] == 0


def test_a_5000_byte_filter_gets_the_filter_parsers_answer_not_gunicorns(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    target = f"{base}/Users?filter=" + quote(f'userName eq "{"a" * 4950}"')
    doc = _scim_error(server.send(_request("GET", target, auth)), 400)
    assert doc["scimType"] == "invalidFilter"


def test_a_request_line_over_8190_bytes_is_a_scim_414(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    target = f"{base}/Users?filter=" + quote(f'userName eq "{"a" * 9000}"')
    doc = _scim_error(server.send(_request("GET", target, auth)), 414)
    assert "8190" in doc["detail"]
    assert "scimType" not in doc


def test_a_10000_character_authorization_header_is_a_scim_431(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, _ = scim
    raw = _request("GET", f"{base}/Users", {"Authorization": "Bearer " + "x" * 10000})
    doc = _scim_error(server.send(raw), 431)
    assert "8190" in doc["detail"]


def test_more_than_100_header_fields_is_a_scim_431(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    many = auth | {f"X-Extra-{i}": "1" for i in range(120)}
    doc = _scim_error(server.send(_request("GET", f"{base}/Users", many)), 431)
    assert "100 header fields" in doc["detail"]


@pytest.mark.parametrize(
    "case",
    [
        "Content-Length: abc",
        "a bad chunk size",
        "a chunk without its CRLF",
        "HTTP/1.x",
        "a bare LF ending the request line",
    ],
)
def test_malformed_framing_is_a_scim_400_invalid_syntax(
    case: str, server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    json_type = auth | {"Content-Type": "application/scim+json"}
    chunked = json_type | {"Transfer-Encoding": "chunked"}
    raw = {
        "Content-Length: abc": _request(
            "POST", f"{base}/Users", json_type | {"Content-Length": "abc"}, b"{}"
        ),
        "a bad chunk size": _request("POST", f"{base}/Users", chunked, b"zz\r\n{}\r\n0\r\n\r\n"),
        "a chunk without its CRLF": _request(
            "POST", f"{base}/Users", chunked, b"2\r\n{}XX0\r\n\r\n"
        ),
        "HTTP/1.x": _request("GET", f"{base}/Users", auth, version="HTTP/1.x"),
        "a bare LF ending the request line": f"GET {base}/Users HTTP/1.1\n\n".encode(),
    }[case]
    doc = _scim_error(server.send(raw), 400)
    assert doc["scimType"] == "invalidSyntax"
    # gunicorn's reason, not the endpoint's "The request body is empty": Django alone
    # never reads a chunked body, so it would not see a bad chunk.
    reason = {
        "Content-Length: abc": "CONTENT-LENGTH",
        "a bad chunk size": "chunk size",
        "a chunk without its CRLF": "chunk terminator",
        "HTTP/1.x": "HTTP Version",
        "a bare LF ending the request line": "bare LF",
    }[case]
    assert reason in doc["detail"]


def test_an_unsupported_transfer_coding_is_a_scim_501(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    headers = auth | {"Content-Type": "application/scim+json", "Transfer-Encoding": "br"}
    doc = _scim_error(server.send(_request("POST", f"{base}/Users", headers, b"{}")), 501)
    assert "scimType" not in doc


def test_a_chunked_user_reaches_the_endpoint_whole(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "chunked@acme.example",
        "name": {"givenName": "Chunk", "familyName": "Ed"},
    }
    body = json.dumps(user).encode()
    half = len(body) // 2
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        half,
        body[:half],
        len(body) - half,
        body[half:],
    )
    headers = auth | {"Content-Type": "application/scim+json", "Transfer-Encoding": "chunked"}
    code, _, answer = server.send(_request("POST", f"{base}/Users", headers, chunks))
    assert code == 201, answer
    assert json.loads(answer)["userName"] == "chunked@acme.example"


def test_a_chunked_body_over_the_limit_is_a_scim_413(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    big = b"x" * (BODY_LIMIT + 10)
    headers = auth | {"Content-Type": "application/scim+json", "Transfer-Encoding": "chunked"}
    chunks = b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
    _scim_error(server.send(_request("POST", f"{base}/Users", headers, chunks)), 413)


def test_an_authenticated_list_still_works_through_the_same_server(
    server: Server, scim: tuple[str, dict[str, str]]
) -> None:
    base, auth = scim
    code, headers, body = server.send(_request("GET", f"{base}/Users", auth))
    assert code == 200, body
    assert headers["content-type"] == "application/scim+json"
    assert json.loads(body)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (
            _request("GET", "/api/v1/orgs/acme/events/", {"Authorization": "x" * 10000}),
            431,
            "request_header_fields_too_large",
        ),
        (_request("GET", "/api/v1/orgs/?q=" + "a" * 9000), 414, "request_line_too_long"),
        (
            _request("POST", "/api/v1/orgs/", {"Content-Length": "abc"}),
            400,
            "bad_request",
        ),
    ],
    ids=["long header", "long line", "bad length"],
)
def test_the_admin_api_gets_its_own_error_json(
    raw: bytes, status: int, code: str, server: Server
) -> None:
    answer_status, headers, body = server.send(raw)
    assert answer_status == status, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert error["message"]


def test_the_console_keeps_gunicorns_page(server: Server) -> None:
    status, headers, body = server.send(_request("GET", "/accounts/login/?next=" + "a" * 9000))
    assert status == 414
    assert headers["content-type"] == "text/html"


def test_an_unparsable_line_that_names_scim_gets_json() -> None:
    # No target could be read (no method): the line's mention of /scim/ decides, and
    # since it may not be SCIM at all the media type is plain JSON.
    from gunicorn.http.errors import InvalidRequestLine

    exc = InvalidRequestLine("\x01 /scim/v2/x/Users HTTP/1.1")
    assert gunicorn_workers.error_kind(None, exc) == ("scim", "application/json")
    assert gunicorn_workers.error_kind(None, InvalidRequestLine("garbage")) is None


def test_the_shared_constants_agree_with_scim_errors() -> None:
    assert gunicorn_workers.SCIM_ERROR_SCHEMA == ERROR_SCHEMA
    assert gunicorn_workers.SCIM_CONTENT_TYPE == scim_errors.SCIM_CONTENT_TYPE


# Every way of serving the app passes the config ------------------------------------


def _gunicorn_settings(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The settings gunicorn itself derives from a command line (without `gunicorn`)."""
    monkeypatch.setattr(sys, "argv", ["gunicorn", *argv])
    monkeypatch.chdir(ROOT)
    return WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn").cfg


def _assert_uses_config(cfg: Any) -> None:
    assert issubclass(cfg.worker_class, gunicorn_workers.JsonErrorsMixin)
    assert cfg.limit_request_line == 8190
    assert cfg.limit_request_fields == 100
    assert cfg.limit_request_field_size == 8190


def _dockerfile_cmd() -> list[str]:
    cmd: list[str] = [
        json.loads(line.removeprefix("CMD "))
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD ")
    ][-1]
    return cmd


def test_the_dockerfile_serves_with_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    cmd = _dockerfile_cmd()
    assert cmd[:2] == ["gunicorn", "commandcenter.wsgi:application"]
    cfg = _gunicorn_settings(cmd[1:], monkeypatch)
    _assert_uses_config(cfg)
    assert issubclass(cfg.worker_class, sync.SyncWorker)
    assert cfg.workers == 3


def test_serve_runs_gunicorn_with_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []

    class Exited:
        returncode = 0

        def __init__(self, args: list[str], **kwargs: Any) -> None:
            started.append(args)

        def poll(self) -> int:
            return 0

        def wait(self, timeout: float) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", Exited)
    # serve installs SIGTERM/SIGINT handlers: not in the test process.
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    call_command("serve", "--port", "18999", "--workers", "5", stdout=StringIO())
    web = started[0]
    assert web[:3] == [sys.executable, "-m", "gunicorn"]
    cfg = _gunicorn_settings(web[3:], monkeypatch)
    _assert_uses_config(cfg)
    assert issubclass(cfg.worker_class, sync.SyncWorker)
    assert cfg.workers == 5


def test_the_benchmark_serves_as_the_image_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # bench/run.sh measures what the Dockerfile ships: its config, worker class and count.
    script = (ROOT / "bench" / "run.sh").read_text().replace("\\\n", " ")
    (line,) = [
        line.strip() for line in script.splitlines() if re.match(r"\s*\$PY -m gunicorn ", line)
    ]
    (default,) = re.findall(r"WORKERS=\$\{BENCH_WORKERS:-(\d+)\}", script)
    line = line.split(" >>")[0]  # the run's own log file
    line = line.replace('"$WORKERS"', default).replace("$PORT", "18765").rstrip(" &")
    cfg = _gunicorn_settings(shlex.split(line)[3:], monkeypatch)
    _assert_uses_config(cfg)
    image = _gunicorn_settings(_dockerfile_cmd()[1:], monkeypatch)
    assert cfg.worker_class is image.worker_class
    assert issubclass(cfg.worker_class, sync.SyncWorker)
    assert cfg.workers == image.workers == 3
    assert cfg.threads == image.threads
