from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.servers.basehttp import WSGIServer

from directory.models import Org, ScimDirectory
from directory.services import idp_configure, org_admin_add, org_create, scim_enable
from tokens.services import token_issue

# Django's test server listens with a backlog of 10 connections; the live-server
# tests open 50 at once, as a busy IdP might, which gunicorn's backlog (2048) absorbs.
WSGIServer.request_queue_size = 128


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


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """CI's Redis when REDIS_URL is set; otherwise a throwaway redis-server of our own."""
    if settings.REDIS_URL:
        yield settings.REDIS_URL
        return
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def redis_cache(redis_url: str, settings: Any) -> None:
    """The shared cache on a real Redis, as in production (token cache and rate limits)."""
    settings.REDIS_URL = redis_url
    settings.CACHES = {
        "default": {"BACKEND": "commandcenter.cache.RedisCache", "LOCATION": redis_url}
    }
    from django.core.cache import cache

    cache.clear()  # no counters or tokens left by an earlier test


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
    idp_configure(org=org, provider="okta", protocol="saml")
    return scim_enable(org=org)


@pytest.fixture
def other_directory(other_org: Org) -> ScimDirectory:
    idp_configure(org=other_org, provider="entra", protocol="oidc")
    return scim_enable(org=other_org)


@pytest.fixture
def token(directory: ScimDirectory) -> str:
    return token_issue(directory=directory, name="Okta").plaintext


@pytest.fixture
def other_token(other_directory: ScimDirectory) -> str:
    return token_issue(directory=other_directory, name="Entra").plaintext
