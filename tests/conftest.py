from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.servers.basehttp import ServerHandler, WSGIRequestHandler, WSGIServer

from directory.models import Org, ScimDirectory
from directory.services import idp_configure, org_admin_add, org_create, scim_enable, scim_requests
from tests.actors import OPERATOR
from tokens.services import token_issue


def _test_depth() -> int:
    raw = os.environ.get("TEST_DEPTH", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise pytest.UsageError(f"TEST_DEPTH={raw!r} must be a whole number of at least 1")
    return int(raw)


# How many cases the generated-input checkers (Hypothesis, schemathesis) try: `make test`
# runs them at depth 1, `.ci/run` at TEST_DEPTH=5 (five times as many cases).
TEST_DEPTH = _test_depth()


def examples(n: int) -> int:
    """The number of generated cases for a checker that tries `n` at depth 1."""
    return n * TEST_DEPTH


# Django's test server listens with a backlog of 10 connections; the live-server
# tests open 50 at once, as a busy IdP might, which gunicorn's backlog (2048) absorbs.
WSGIServer.request_queue_size = 128
# The test server writes a response's headers and body in separate sends; with Nagle's
# algorithm on, every keep-alive request then waits ~40 ms for the client's delayed ACK
# (44 ms per request against 2 ms). gunicorn sets TCP_NODELAY too.
WSGIRequestHandler.disable_nagle_algorithm = True
_cleanup_headers = ServerHandler.cleanup_headers


def _close_after_chunked_requests(self: Any) -> None:
    # The test server cannot read a chunked request body (schemathesis sends some): it
    # answers as if the body were empty and must then drop the connection, or the body's
    # bytes left in it are read as the next request.
    _cleanup_headers(self)
    if "chunked" in self.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        self.headers["Connection"] = "close"
        self.request_handler.close_connection = True


setattr(ServerHandler, "cleanup_headers", _close_after_chunked_requests)  # noqa: B010


@pytest.fixture(autouse=True, scope="session")
def _no_persistent_connections() -> None:
    # Live-server threads would otherwise keep their connections open after the test,
    # and the test database could not be dropped at the end of the run.
    from django.db import connections

    for connection in connections.all():
        connection.settings_dict["CONN_MAX_AGE"] = 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, seconds: float = 30) -> None:
    """Until something listens on 127.0.0.1:`port` (TimeoutError after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free port, for the block: its URL."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_port(port, seconds=5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """CI's Redis when REDIS_URL is set; otherwise a throwaway redis-server of our own."""
    if settings.REDIS_URL:
        yield settings.REDIS_URL
        return
    with redis_server() as url:
        yield url


@pytest.fixture
def own_redis() -> Iterator[str]:
    """A throwaway redis-server of this test's own, even where REDIS_URL names a shared
    one (CI): what the test counts or queues there is only its own."""
    with redis_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _cache_of_its_own(settings: Any) -> None:
    # Each test its own cache keyspace (rate counters, failed-authentication counts,
    # cached tokens): ids repeat across tests and test processes (SQLite reuses a
    # rolled-back row's id, every process has a database of its own), so an org's rate
    # counter would otherwise carry over into the next test within the same second, and
    # on CI's shared Redis into another process's tests. No flush: it would reach theirs.
    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = uuid.uuid4().hex[:12]
    settings.CACHES = caches


@pytest.fixture
def redis_cache(redis_url: str, settings: Any) -> None:
    """The shared cache on a real Redis, as in production (token cache and rate limits),
    in a keyspace of this test's own."""
    settings.REDIS_URL = redis_url
    settings.CACHES = {
        "default": {
            "BACKEND": "directory.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": uuid.uuid4().hex[:12],
        }
    }


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    # Tasks run in the test's process, also when REDIS_URL (CI) points at a real
    # broker; the worker test opts out explicitly.
    from commandcenter.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_auth_failure_throttle(settings: Any) -> None:
    # Every test client is 127.0.0.1: a test that sends many wrong tokens (the fuzz tests
    # send hundreds) would throttle itself. The throttle's own tests set a limit.
    settings.SCIM_AUTH_FAILURES_PER_MINUTE = 10**9


@pytest.fixture(autouse=True)
def _provisioning_log_of_its_own(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each entry written as its request ends, inside the test's transaction (the
    # buffered writer is tested on its own); the log's per-process state is the test's.
    settings.SCIM_REQUEST_LOG_FLUSH_MS = 0
    monkeypatch.setattr(scim_requests, "_state", scim_requests._State())
    monkeypatch.setattr(scim_requests, "_directory_orgs", {})


@pytest.fixture
def org(db: None) -> Org:
    return org_create(slug="acme", name="Acme Corp", seats=10)


@pytest.fixture
def other_org(db: None) -> Org:
    return org_create(slug="globex", name="Globex", seats=10)


@pytest.fixture
def admin(org: Org) -> User:
    membership, _ = org_admin_add(org=org, email="alice@acme.example")
    return membership.user


@pytest.fixture
def other_admin(other_org: Org) -> User:
    membership, _ = org_admin_add(org=other_org, email="bob@globex.example")
    return membership.user


@pytest.fixture
def directory(org: Org) -> ScimDirectory:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    return scim_enable(org=org, actor=OPERATOR)


@pytest.fixture
def other_directory(other_org: Org) -> ScimDirectory:
    idp_configure(org=other_org, provider="entra", protocol="oidc", actor=OPERATOR)
    return scim_enable(org=other_org, actor=OPERATOR)


@pytest.fixture
def token(directory: ScimDirectory) -> str:
    return token_issue(directory=directory, name="Okta").plaintext


@pytest.fixture
def other_token(other_directory: ScimDirectory) -> str:
    return token_issue(directory=other_directory, name="Entra").plaintext


@pytest.fixture(scope="session")
def slapd() -> Iterator[Any]:
    """A real OpenLDAP server (tests.ldap_server), one for the whole session."""
    from tests.ldap_server import Slapd

    server = Slapd().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ldap_tree(slapd: Any) -> Any:
    """A subtree of the session's slapd of this test's own (tests.ldap_server.Tree)."""
    from tests.ldap_server import Tree

    return Tree.create(slapd)
