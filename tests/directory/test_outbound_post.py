"""directory.outbound's POST (an OIDC token endpoint): the same policy as a GET, a form
body, the caller's headers, and a redirect that is refused instead of followed, so the
client secret and the code never go anywhere else."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import override_settings

from directory.outbound import OutboundError, fetch


class _Handler(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _record(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "form": {k: v[0] for k, v in parse_qs(body).items()},
        }
        self.received.append(seen)
        return seen

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        seen = self._record()
        if self.path.startswith("/redirect-to/"):
            self.send_response(307)
            self.send_header("Location", self.path.removeprefix("/redirect-to/"))
            self.end_headers()
            return
        if self.path == "/error":
            self._answer(400, b'{"error": "invalid_grant"}')
            return
        if self.path == "/big":
            self._answer(200, b"x" * 5000, "text/plain")
            return
        self._answer(200, json.dumps(seen).encode())

    def do_GET(self) -> None:  # noqa: N802
        seen = self._record()
        self._answer(200, json.dumps(seen).encode())


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _fresh_log() -> None:
    _Handler.received.clear()


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_a_post_sends_the_form_and_the_callers_headers(server: str) -> None:
    r = fetch(
        f"{server}/token",
        method="POST",
        data={"grant_type": "authorization_code", "code": "a b&c=d"},
        headers={"Authorization": "Basic eDp5"},
        accept="application/json",
    )
    seen = json.loads(r.body)
    assert seen["method"] == "POST" and seen["path"] == "/token"
    assert seen["form"] == {"grant_type": "authorization_code", "code": "a b&c=d"}
    assert seen["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert seen["headers"]["authorization"] == "Basic eDp5"
    assert seen["headers"]["accept"] == "application/json"


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_the_callers_headers_cannot_replace_host_or_the_content_type(server: str) -> None:
    r = fetch(
        f"{server}/token",
        method="POST",
        data={"a": "1"},
        headers={"host": "evil.example", "Content-Type": "text/plain", "X-Extra": "yes"},
    )
    headers = json.loads(r.body)["headers"]
    assert headers["host"] == server.removeprefix("http://")
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["x-extra"] == "yes"


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_a_get_can_carry_headers_too(server: str) -> None:
    r = fetch(f"{server}/userinfo", headers={"Authorization": "Bearer abc"})
    seen = json.loads(r.body)
    assert seen["method"] == "GET" and seen["headers"]["authorization"] == "Bearer abc"


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_a_redirect_answering_a_post_is_refused_not_followed(server: str) -> None:
    with pytest.raises(OutboundError, match="redirect.*not followed"):
        fetch(f"{server}/redirect-to/{server}/token", method="POST", data={"secret": "s"})
    # Only the first request was made: the form went nowhere else, not even to a
    # harmless address on the same server.
    assert [seen["path"] for seen in _Handler.received] == [f"/redirect-to/{server}/token"]


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_an_error_status_is_refused_unless_the_caller_reads_it(server: str) -> None:
    with pytest.raises(OutboundError, match="HTTP 400"):
        fetch(f"{server}/error", method="POST", data={})
    r = fetch(f"{server}/error", method="POST", data={}, statuses=(200, 400))
    assert r.status == 400 and json.loads(r.body) == {"error": "invalid_grant"}


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_a_posts_answer_is_capped_in_size(server: str) -> None:
    with pytest.raises(OutboundError, match="larger than"):
        fetch(f"{server}/big", method="POST", data={}, max_bytes=1000)


def test_a_post_follows_the_same_address_policy(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(OutboundError, match="https"):
        fetch(f"{server}/token", method="POST", data={"a": "1"})
    with pytest.raises(OutboundError, match="private, loopback"):
        fetch("https://127.0.0.1/token", method="POST", data={"a": "1"})
    with override_settings(OUTBOUND_ALLOW_PRIVATE=True):
        with pytest.raises(OutboundError, match="link-local"):
            fetch("http://169.254.169.254/latest/api/token", method="POST", data={})

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(OutboundError, match="resolves to 10.0.0.7"):
        fetch("https://idp.example.com/token", method="POST", data={"a": "1"})
    assert _Handler.received == []


def test_only_get_and_post_are_sent_and_only_a_post_has_a_form() -> None:
    with pytest.raises(ValueError):
        fetch("https://idp.example.com/", method="DELETE")
    with pytest.raises(ValueError):
        fetch("https://idp.example.com/", data={"a": "1"})
