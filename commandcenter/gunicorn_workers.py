"""gunicorn workers whose own refusals speak the API's language.

gunicorn refuses some requests before Django sees them (a request line or header over
the limits in commandcenter.gunicorn_conf, too many header fields, a bad Content-Length,
a malformed chunked body, an invalid HTTP version) and answers them with an HTML page.
An IdP must get SCIM Error JSON on every SCIM URL, and an API client the admin API's
`{"error": {...}}`. These workers keep gunicorn's status code, logging and closing of the
connection, and replace only the body it writes:

- a path under /scim/: SCIM Error JSON, `application/scim+json`;
- a path under /api/: the admin API's error JSON, `application/json`;
- anything else (the console, or a request too garbled to tell): gunicorn's HTML page.

When the request line could not be parsed there is no path yet: the raw bytes read so
far decide. A request target starting /scim/ or /api/ (also in absolute form) counts as
that path; failing that, a first line that merely contains /scim/ or /api/ gets the
same error shape as `application/json`, since it may not be SCIM at all.

Chunked request bodies are left to the app: gunicorn decodes them and ends the stream
(wsgi.input_terminated), and the SCIM gate (scim.views.read_body) reads them to their end.

Only constants are shared with scim.errors (copied, and tests check they agree): this
module is the server layer, and scim must not depend on it, nor it on scim at run time.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator
from typing import Any

from gunicorn import glogging, util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.http.message import Request
from gunicorn.workers import gthread, sync

from directory import request_ids
from directory.ids import uuid_or_none

SCIM_CONTENT_TYPE = "application/scim+json"
SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_PREFIX = "/scim/"
API_PREFIX = "/api/"

# The request target in a raw request line: origin form, or absolute form.
_TARGET = re.compile(rb"[!-~]+ +(?:[A-Za-z][A-Za-z0-9+.-]*://[^/ ]*)?(/[^ ?#]*)")
# The raw bytes gunicorn's parser holds in these locals while it reads a request head.
_RAW_LOCALS = ("data", "buf", "line_bytes", "line")
_API_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "request_header_fields_too_large",
    500: "server_error",
    501: "not_implemented",
}


class _Capture:
    """Stands in for the client socket while gunicorn writes its HTML error page."""

    def __init__(self) -> None:
        self.data = bytearray()

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)


def _partial_requests(exc: BaseException) -> Iterator[tuple[Any, types.FrameType]]:
    """The gunicorn Requests whose parsing raised `exc`, with their frames, innermost first.

    gunicorn parses a request head while constructing its Request, so when that fails
    the worker never gets the object; the frames of the traceback still hold it."""
    tb = exc.__traceback__
    frames: list[types.FrameType] = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Request):
            yield candidate, frame


def _raw_heads(exc: BaseException) -> Iterator[bytes]:
    """What gunicorn had read of the request head when `exc` was raised: the line an
    InvalidRequestLine keeps (sometimes only a reason), then its parser's buffers."""
    if isinstance(getattr(exc, "req", None), str):
        yield str(exc.req).encode("latin-1", "replace")  # type: ignore[attr-defined]
    for _, frame in _partial_requests(exc):
        for name in _RAW_LOCALS:
            raw = frame.f_locals.get(name)
            if isinstance(raw, bytes | bytearray) and raw:
                yield bytes(raw)


def error_kind(req: Any, exc: BaseException) -> tuple[str, str] | None:
    """("scim" | "api", media type) for the request an error belongs to, or None.

    None means gunicorn's own HTML answer: the request is not for /scim/ or /api/, or
    too little of it could be read to tell."""
    candidates = [req, getattr(exc, "req", None)] + [r for r, _ in _partial_requests(exc)]
    for candidate in candidates:
        path = getattr(candidate, "path", None)
        if isinstance(path, str) and path:
            return _kind_of_path(path, SCIM_CONTENT_TYPE)
    lines = [head.lstrip(b"\r\n").split(b"\r\n", 1)[0] for head in _raw_heads(exc)]
    for line in lines:
        match = _TARGET.match(line)
        if match:
            return _kind_of_path(match.group(1).decode("latin-1"), SCIM_CONTENT_TYPE)
    for line in lines:
        if SCIM_PREFIX.encode() in line:
            return "scim", "application/json"
        if API_PREFIX.encode() in line:
            return "api", "application/json"
    return None


def _kind_of_path(path: str, scim_media_type: str) -> tuple[str, str] | None:
    if path.startswith(SCIM_PREFIX):
        return "scim", scim_media_type
    if path.startswith(API_PREFIX):
        return "api", "application/json"
    return None


def error_detail(exc: BaseException, status: int, cfg: Any) -> str:
    """A sentence for the client saying which limit or rule its request broke."""
    if status == 500:
        # Not the client's doing (gunicorn logged it): nothing internal goes out.
        return "The server could not handle the request"
    if isinstance(exc, LimitRequestLine):
        return f"The request line is longer than {cfg.limit_request_line} bytes"
    if isinstance(exc, LimitRequestHeaders):
        reason = str(exc)
        if reason == "limit request headers fields":
            return f"The request has more than {cfg.limit_request_fields} header fields"
        if reason == "limit request headers fields size":
            return f"A header field is longer than {cfg.limit_request_field_size} bytes"
        return "The request's header section is too large"
    # gunicorn's message can quote the request; an IdP's log needs only its start.
    message = str(exc)
    return message if len(message) <= 200 else message[:200] + "..."


def error_body(kind: str, status: int, detail: str) -> bytes:
    """The JSON error body: SCIM Error (RFC 7644 §3.12) or the admin API's shape."""
    doc: dict[str, Any]
    if kind == "scim":
        doc = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status), "detail": detail}
        if status == 400:
            doc["scimType"] = "invalidSyntax"
    else:
        code = _API_CODES.get(status, "error")
        doc = {"error": {"code": code, "message": detail, "field": None}}
    return json.dumps(doc).encode()


def _status_line(page: bytes) -> tuple[int, str] | None:
    first = page.split(b"\r\n", 1)[0].decode("latin-1")
    parts = first.split(" ", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1]), parts[2]
    return None


class JsonErrorsMixin:
    """Answers gunicorn's own refusals on /scim/ and /api/ in JSON (module docstring)."""

    cfg: Any
    log: Any
    wsgi: Any

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        # gunicorn decides the status, logs the error and the access line, and writes
        # its page; the page goes to a capture, and the client gets JSON with its status.
        capture = _Capture()
        super().handle_error(req, capture, addr, exc)  # type: ignore[misc]
        page = bytes(capture.data)
        kind = error_kind(req, exc)
        status = _status_line(page)
        if kind is not None and status is not None:
            code, reason = status
            body = error_body(kind[0], code, error_detail(exc, code, self.cfg))
            page = (
                f"HTTP/1.1 {code} {reason}\r\n"
                "Connection: close\r\n"
                f"Content-Type: {kind[1]}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "\r\n"
            ).encode("latin-1") + body
        try:
            util.write_nonblock(client, page)
        except Exception:
            self.log.debug("Failed to send error message.")


# gunicorn ships no type hints: its classes are Any to mypy.
class SyncWorker(JsonErrorsMixin, sync.SyncWorker):  # type: ignore[misc]
    """gunicorn's default sync worker (Dockerfile, `manage.py serve`), JSON errors."""


class ThreadWorker(JsonErrorsMixin, gthread.ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker (bench/run.sh), JSON errors."""


class RequestIdLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, with each access line's `request_id` set to its response's
    X-Request-ID (commandcenter.middleware.RequestIdMiddleware), as every line Django logs
    for that request has it: one search finds them all (LOG_FORMAT=json)."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        sent = next((v for k, v in resp.headers if k.lower() == "x-request-id"), None)
        rid = uuid_or_none(sent)
        context = request_ids.request_id.set(rid) if rid is not None else None
        try:
            super().access(resp, req, environ, request_time)
        finally:
            if context is not None:
                request_ids.request_id.reset(context)
