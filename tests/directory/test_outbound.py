"""directory.outbound: the one policy for requests to URLs an admin typed, against a real
HTTP server on 127.0.0.1 (and name resolution replaced where a test needs a public or a
hostile answer)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings

from directory.outbound import MAX_REDIRECTS, OutboundError, address_refusal, fetch


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path
        if path.startswith("/redirect-to/"):
            self.send_response(302)
            self.send_header("Location", path.removeprefix("/redirect-to/"))
            self.end_headers()
            return
        if path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
            return
        if path == "/slow":
            time.sleep(2)
        if path == "/missing":
            self.send_response(404)
            self.end_headers()
            return
        body = b"x" * 5000 if path == "/big" else f"host={self.headers['Host']}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_with_private_targets_allowed_a_local_server_answers(server: str) -> None:
    r = fetch(f"{server}/hello")
    assert r.status == 200 and r.body == f"host={server.removeprefix('http://')}".encode()
    assert r.content_type == "text/plain"


@override_settings(OUTBOUND_ALLOW_PRIVATE=False)
def test_by_default_loopback_and_plain_http_are_refused(server: str) -> None:
    with pytest.raises(OutboundError, match="Only https"):
        fetch(f"{server}/hello")
    with pytest.raises(OutboundError, match="loopback"):
        fetch("https://127.0.0.1:1/metadata")


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.7",
        "192.168.1.1",
        "172.16.0.1",
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "169.254.169.254",
        "fe80::1",
    ],  # fmt: skip
)
@override_settings(OUTBOUND_ALLOW_PRIVATE=False)
def test_a_name_resolving_to_an_inside_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    _resolving_to(monkeypatch, address)
    with pytest.raises(OutboundError, match="refused"):
        fetch("https://idp.example.com/metadata")


@override_settings(OUTBOUND_ALLOW_PRIVATE=False)
def test_one_inside_address_among_public_ones_is_enough_to_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving_to(monkeypatch, "93.184.215.14", "10.1.2.3")
    with pytest.raises(OutboundError, match="10.1.2.3"):
        fetch("https://idp.example.com/metadata")


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_link_local_stays_refused_even_with_private_targets_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving_to(monkeypatch, "169.254.169.254")
    with pytest.raises(OutboundError, match="link-local"):
        fetch("http://metadata.internal/latest/meta-data/")


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_every_redirect_is_checked_like_the_first_url(server: str) -> None:
    assert fetch(f"{server}/redirect-to/{server}/after").body.startswith(b"host=")
    with pytest.raises(OutboundError, match="link-local"):
        fetch(f"{server}/redirect-to/http://169.254.169.254/latest/meta-data/")
    with pytest.raises(OutboundError, match="Only https"):
        fetch(f"{server}/redirect-to/file:///etc/passwd")
    with pytest.raises(OutboundError, match=f"More than {MAX_REDIRECTS} redirects"):
        fetch(f"{server}/loop")


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_size_time_and_status_are_bounded(server: str) -> None:
    with pytest.raises(OutboundError, match="larger than 1,000 bytes"):
        fetch(f"{server}/big", max_bytes=1000)
    assert len(fetch(f"{server}/big", max_bytes=5000).body) == 5000
    started = time.monotonic()
    with pytest.raises(OutboundError, match="did not answer within 0.5 seconds"):
        fetch(f"{server}/slow", timeout=0.5)
    assert time.monotonic() - started < 1.5
    with pytest.raises(OutboundError, match="HTTP 404"):
        fetch(f"{server}/missing")


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_urls_with_credentials_or_without_a_host_are_refused() -> None:
    with pytest.raises(OutboundError, match="user name or password"):
        fetch("https://admin:pw@idp.example.com/")
    with pytest.raises(OutboundError, match="no host"):
        fetch("https:///metadata")
    with pytest.raises(OutboundError, match="not valid"):
        fetch("https://idp.example.com:99999/")


def test_public_addresses_are_allowed_and_private_ones_only_when_asked() -> None:
    public = ipaddress.ip_address("93.184.215.14")
    private = ipaddress.ip_address("10.0.0.1")
    assert address_refusal(public, allow_private=False) is None
    assert address_refusal(private, allow_private=False) is not None
    assert address_refusal(private, allow_private=True) is None
