"""A real webhook receiver on 127.0.0.1: an HTTP server in a thread that records what it
is sent and answers as the test says (an outage, a slow answer, a redirect)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

from directory.models import Org
from tests.actors import OPERATOR
from webhooks.services import IssuedSecret, endpoint_add


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def verified_with(self, secret: str) -> dict[str, Any]:
        return dict(Webhook(secret).verify(self.body, self.headers))


@dataclass
class Receiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0
    location: str = ""

    @property
    def types(self) -> list[str]:
        return [d.payload["type"] for d in self.deliveries]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if state.delay:
                time.sleep(state.delay)
            state.deliveries.append(Delivery({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _private_targets(settings: Any) -> None:
    # The receiver listens on 127.0.0.1 over http, as in development.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def hook(org: Org, receiver: Receiver) -> IssuedSecret:
    return endpoint_add(org=org, url=receiver.url, actor=OPERATOR)
