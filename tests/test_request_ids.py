"""Every request's id: fresh, returned in X-Request-ID, on its log lines (LOG_FORMAT=json
as settings.LOGGING configures it) and, for SCIM, the provisioning log entry's id."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils.module_loading import import_string

from commandcenter.middleware import RequestIdMiddleware
from directory.models import Org, ScimDirectory
from directory.request_ids import RequestIdFilter
from tests.scim.conftest import ScimClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger's lines as LOG_FORMAT=json writes them."""
    logging_config: Any = settings.LOGGING
    options = dict(logging_config["formatters"]["json"])
    formatter = import_string(options.pop("()"))(**options)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_scim_requests_log_line_names_its_provisioning_log_entry(
    org: Org, directory: ScimDirectory, token: str, settings: Any, json_log: io.StringIO
) -> None:
    # The rate limiter's cache does not answer (nothing listens on port 1): the request
    # goes through, and the limiter says so in the log.
    settings.CACHES = {
        "default": {"BACKEND": "directory.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = ScimClient(directory, token).get("/Users")
    assert response.status_code == 200
    request_id = response["X-Request-ID"]
    assert uuid.UUID(request_id).version == 4
    [line] = [line for line in _lines(json_log) if line["logger"] == "scim.throttle"]
    assert line["level"] == "WARNING"
    assert line["message"] == "SCIM rate limiter unavailable: letting the request through"
    assert line["request_id"] == request_id
    assert {"time", "level", "logger", "message", "request_id"} <= set(line)
    entry = org.scim_requests.get()
    assert str(entry.id) == request_id


def test_an_exception_is_in_its_line(json_log: io.StringIO) -> None:
    try:
        raise ValueError("the detail")
    except ValueError:
        logging.getLogger("commandcenter.test").exception("It failed")
    [line] = _lines(json_log)
    assert line["message"] == "It failed" and line["request_id"] == ""
    assert "ValueError: the detail" in line["exception"]


def test_every_request_gets_a_fresh_id_whatever_the_client_sends(
    directory: ScimDirectory, token: str, org: Org
) -> None:
    chosen = str(uuid.uuid4())
    scim = ScimClient(directory, token)
    first = scim.get("/Users", HTTP_X_REQUEST_ID=chosen)
    second = scim.get("/Users", HTTP_X_REQUEST_ID=chosen)
    ids = {first["X-Request-ID"], second["X-Request-ID"]}
    assert len(ids) == 2 and chosen not in ids
    # The client's id cannot name (or overwrite) an entry of the provisioning log.
    assert {str(i) for i in org.scim_requests.values_list("id", flat=True)} == ids
    assert Client().get("/accounts/login/")["X-Request-ID"] not in ids


def test_a_proxys_request_id_is_logged_beside_ours(json_log: io.StringIO) -> None:
    def view(request: Any) -> HttpResponse:
        logging.getLogger("commandcenter.test").warning("Inside")
        return HttpResponse("ok")

    middleware = RequestIdMiddleware(view)
    proxys = "0123456789abcdef0123456789abcdef"  # nginx's $request_id
    ours = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID=proxys))["X-Request-ID"]
    middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID='x", "request_id": "y'))
    first, second = _lines(json_log)
    assert first["request_id"] == ours and first["upstream_request_id"] == proxys
    # A malformed one is not logged at all.
    assert "upstream_request_id" not in second and second["request_id"] not in ("", ours)
