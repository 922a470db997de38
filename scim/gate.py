"""The one gate every SCIM request passes, before any resource view runs.

ScimViewMixin.dispatch, in order: the bearer token (authenticated per directory; failed
attempts throttled per client address, scim.throttle), both rate limits, the body (at
most SCIM_MAX_BODY_BYTES, with a Content-Length or chunked, in its charset, every value
storable: scim.values), the method, then the view, which gets the authenticated Caller.
Every refusal is SCIM Error JSON with its status and scimType (scim.errors); a refused
write is recorded as a Failure event; a database outage is a 503, never a 500.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt

from directory import metrics, request_ids, services
from directory.audit import Actor, scim_actor
from directory.errors import DirectoryError
from directory.ids import uuid_or_none
from directory.models import (
    Org,
    ProvisioningEvent,
    ScimDirectory,
)
from directory.services import scim_requests
from directory.services.events import scim_request_id
from scim.errors import SCIM_CONTENT_TYPE, ScimError, bad_request, from_directory_error
from scim.throttle import refusal_event_due, scim_admit, throttle_event_due
from scim.values import decode_json, storable_text
from tokens.auth import TokenRefusal, token_from_header, token_refusal, token_touch
from tokens.models import ScimToken

logger = logging.getLogger(__name__)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
WWW_AUTHENTICATE = str(settings.SCIM_SERVICE_PROVIDER["WWW_AUTHENTICATE_HEADER"])
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def scim_response(
    doc: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    body = "" if doc is None else json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(body, content_type=SCIM_CONTENT_TYPE, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def etag_versions(header: str) -> list[int] | None:
    """Versions named by an If-Match/If-None-Match header; None for `*`."""
    if header.strip() == "*":
        return None
    versions = []
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag.isdigit():
            versions.append(int(tag))
        else:
            versions.append(-1)  # matches no version
    return versions


def _too_large() -> ScimError:
    return ScimError(413, f"The request body is larger than {settings.SCIM_MAX_BODY_BYTES} bytes")


def read_body(request: HttpRequest) -> bytes:
    """The request's body, at most SCIM_MAX_BODY_BYTES of it (413 beyond), sent with a
    Content-Length or chunked. Django reads a body without Content-Length as empty; a
    server that has decoded the chunks and ends the stream (gunicorn sets
    wsgi.input_terminated) lets us read it to its end instead."""
    limit = settings.SCIM_MAX_BODY_BYTES
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not request.META.get("CONTENT_LENGTH"):
        if not request.META.get("wsgi.input_terminated"):
            raise ScimError(411, "Send the body with a Content-Length header")
        try:
            raw: bytes = request.META["wsgi.input"].read(limit + 1)
        except Exception as e:  # the server's decoder: a bad chunk size, a missing CRLF
            raise ScimError(
                400, f"The chunked request body is malformed: {e}", "invalidSyntax"
            ) from None
        if len(raw) > limit:
            raise _too_large()
        return raw
    try:
        return request.body
    except RequestDataTooBig:
        raise _too_large() from None


@dataclass(frozen=True)
class Caller:
    """Who a SCIM request is from, once its token has authenticated: the token, its
    directory and that directory's org, which every query and write is confined to."""

    token: ScimToken
    directory: ScimDirectory
    org: Org


class ScimViewMixin:
    """Authentication, tenancy, body handling and error mapping for every SCIM view.

    Replaces django-scim2's dispatch: its auth check and URL reversing assume one
    tenant, and it turns database outages into 500s.
    """

    resource_type = ""
    request: HttpRequest
    kwargs: dict[str, Any]
    http_method_names: list[str]
    # Set by the gate for an authenticated request; a refused one records its failure
    # event only while this is set (a throttled flood records one event a minute).
    caller: Caller | None = None
    # For the provisioning log: the token that authenticated the request (kept when a
    # rate limit refuses it), the body a view read, and whether the failed-auth
    # throttle refused it.
    _token: ScimToken | None = None
    _raw_body: bytes = b""
    _raw_body_json: bool = False
    _auth_throttled: bool = False

    @property
    def scim(self) -> Caller:
        """The authenticated caller (the views run only after the gate has set it)."""
        if self.caller is None:
            raise RuntimeError("SCIM view reached without an authenticated caller")
        return self.caller

    @method_decorator(csrf_exempt)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        directory_id = kwargs.pop("directory_id")
        self.request, self.kwargs = request, kwargs
        started = time.perf_counter()
        # The log entry's id, chosen now so that the events the request causes name it:
        # the request's own id (its X-Request-ID and log lines' request_id), fresh for
        # every request (commandcenter.middleware.RequestIdMiddleware).
        request_id = request_ids.request_id.get() or uuid.uuid4()
        context = scim_request_id.set(request_id)
        try:
            response = self._dispatch(request, directory_id, *args, **kwargs)
        except ScimError as e:
            response = e.response()
            self._record_failure(request, e)
        except DirectoryError as e:
            error = from_directory_error(e)
            response = error.response()
            self._record_failure(request, error)
        except (OperationalError, InterfaceError):
            logger.exception("SCIM request failed: database unavailable")
            response = ScimError(
                503,
                "The directory is temporarily unavailable; retry later",
                headers={"Retry-After": "5"},
            ).response()
        except (DataError, UnicodeEncodeError):
            # What the checks before it let through and the database still refused: a
            # number out of its range, or a filter value with a NUL or a lone surrogate.
            error = bad_request(
                "A value is out of the range this directory can store, or holds a character "
                "it cannot store (NUL, a lone UTF-16 surrogate)"
            )
            response = error.response()
            self._record_failure(request, error)
        except Exception:
            logger.exception("SCIM request failed")
            response = ScimError(500, "Internal error while processing the request").response()
        finally:
            scim_request_id.reset(context)
        self._log(request, response, directory_id, request_id, started)
        self._observe(request, response, started)
        return response

    def _observe(self, request: HttpRequest, response: HttpResponse, started: float) -> None:
        """Operators' metrics (directory.metrics): a few in-memory writes, no round trip.
        A failure to count (gunicorn's metrics folder full) never changes the response."""
        status = response.status_code
        try:
            metrics.scim_request_observe(
                method=request.method or "",
                status=status,
                seconds=time.perf_counter() - started,
                auth_failure=_auth_failure(request, self._token) if status == 401 else "",
                limit=("auth_failures" if self._auth_throttled else "request_rate")
                if status == 429
                else "",
            )
        except Exception:
            logger.exception("Could not count a SCIM request for /metrics")

    def _log(
        self,
        request: HttpRequest,
        response: HttpResponse,
        directory_id: uuid.UUID,
        request_id: uuid.UUID,
        started: float,
    ) -> None:
        """Record the request in the provisioning log, after its response is made. A
        failure to record is logged and never changes the response."""
        try:
            if not settings.SCIM_REQUEST_LOG:
                return
            content = b"" if response.streaming else response.content
            scim_type = detail = ""
            if response.status_code >= 400 and content:
                doc = json.loads(content)
                if isinstance(doc, dict):
                    scim_type = str(doc.get("scimType") or "")
                    detail = str(doc.get("detail") or "")
            token = self._token
            scim_requests.scim_request_record(
                facts=scim_requests.ScimRequestFacts(
                    method=request.method or "",
                    path=request.path,
                    query=request.META.get("QUERY_STRING", ""),
                    status=response.status_code,
                    latency_ms=int((time.perf_counter() - started) * 1000),
                    address=request.META.get("REMOTE_ADDR", ""),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    request_body=self._raw_body,
                    response_body=content,
                    scim_type=scim_type,
                    detail=detail,
                    token_name=token.name if token else "",
                    token_prefix=token.prefix if token else "",
                    resource_type=self.resource_type,
                    # A 201's Location names what it created: /…/Users/<id>.
                    resource_id=uuid_or_none(
                        self.kwargs.get("uuid") or response.get("Location", "").rsplit("/", 1)[-1]
                    ),
                    request_json=self._raw_body_json,
                ),
                request_id=request_id,
                directory_id=directory_id,
                directory=token.directory if token else None,
                aggregate=self._auth_throttled,
            )
        except Exception:
            logger.exception("Could not record a SCIM request in the provisioning log")

    def _dispatch(
        self, request: HttpRequest, directory_id: uuid.UUID, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        raw = token_from_header(header) if header else ""
        try:
            token, allowed = scim_admit(raw, address=request.META.get("REMOTE_ADDR", ""))
        except ScimError as e:
            self._auth_throttled = e.status == 429
            raise
        if token is None or token.directory_id != directory_id:
            refusal = token_refusal(raw, directory_id=directory_id) if raw else None
            if refusal is not None:
                self._token = refusal.token
                self._record_refusal(refusal)
            raise ScimError(
                401,
                (refusal.reason if refusal else "")
                or (
                    "Send a valid SCIM API token of this directory as "
                    "'Authorization: Bearer <token>'"
                    if header
                    else "Authentication required: send 'Authorization: Bearer <token>'"
                ),
                headers={"WWW-Authenticate": WWW_AUTHENTICATE},
            )
        self._token = token
        directory = token.directory
        self.caller = Caller(token=token, directory=directory, org=directory.org)
        if not allowed:
            if throttle_event_due(org=directory.org):
                services.event_record(
                    org=directory.org,
                    directory=directory,
                    action=ProvisioningEvent.Action.REQUEST,
                    outcome=ProvisioningEvent.Outcome.FAILURE,
                    message="Throttled: the IdP sent more requests per second than this "
                    "org's SCIM rate limit allows; they were refused with 429 and retried",
                    status_code=429,
                    actor=self.actor,
                )
            self.caller = None  # no failure event per refused request
            raise ScimError(
                429,
                "Too many requests: slow down and retry after the Retry-After seconds",
                headers={"Retry-After": "1"},
            )
        token_touch(
            token,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.SCIM_MAX_BODY_BYTES:
            raise _too_large()
        method = (request.method or "GET").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise ScimError(
                405,
                f"{request.method} is not supported on this endpoint",
                headers={"Allow": ", ".join(m.upper() for m in self.http_method_names)},
            )
        response: HttpResponse = getattr(self, method)(request, *args, **kwargs)
        return response

    # Helpers for the resource views ----------------------------------------------

    @property
    def base_url(self) -> str:
        return self.scim.directory.base_url

    @property
    def actor(self) -> Actor:
        """The IdP's SCIM client, as the provisioning services record it."""
        return scim_actor(
            user_agent=str(self.request.META.get("HTTP_USER_AGENT", "")),
            ip=self.request.META.get("REMOTE_ADDR"),
        )

    def json_body(self, request: HttpRequest) -> Any:
        if request.content_type in _FORM_TYPES:
            raise ScimError(
                415, "Send JSON: Content-Type application/scim+json or application/json"
            )
        raw = read_body(request)
        self._raw_body = raw
        if not raw.strip():
            raise ScimError(400, "The request body is empty", "invalidSyntax")
        doc = decode_json(raw, (request.content_params or {}).get("charset"))
        self._raw_body_json = True  # the log need not parse it again to know
        return doc

    def expected_version(self, request: HttpRequest) -> frozenset[int] | None:
        """The versions an If-Match header lets a write go ahead on (any of its tags),
        or None without a condition (no header, or `*`). The service checks them under
        its row lock."""
        header = request.META.get("HTTP_IF_MATCH")
        if not header:
            return None
        versions = etag_versions(header)
        return None if versions is None else frozenset(versions)

    def _record_refusal(self, refusal: TokenRefusal) -> None:
        """A token of this directory that is revoked, or sent while SCIM is switched
        off, is a Failure event with its reason: at most one per org and minute, so an
        IdP retrying costs no writes."""
        directory = refusal.token.directory
        try:
            if not refusal_event_due(org=directory.org):
                return
            services.event_record(
                org=directory.org,
                directory=directory,
                action=_failure_action(self.resource_type, self.request.method or ""),
                outcome=ProvisioningEvent.Outcome.FAILURE,
                resource_type=self.resource_type,
                resource_id=uuid_or_none(self.kwargs.get("uuid")),
                message=refusal.reason,
                status_code=401,
                actor=self.actor,
            )
        except Exception:
            logger.exception("Could not record a refused token's event")

    def _record_failure(self, request: HttpRequest, error: ScimError) -> None:
        """Record a failed write (or a refused query) as a Failure event, so admins see
        why the IdP reports errors. The request's own transaction has rolled back."""
        if self.caller is None or error.status in (405, 501):
            return
        org = self.caller.org
        if request.method not in WRITE_METHODS and error.status != 400:
            return
        action = _failure_action(self.resource_type, request.method or "")
        try:
            name = "" if error.status == 413 else _resource_name(request)
            services.event_record(
                org=org,
                directory=self.caller.directory,
                action=action,
                outcome=ProvisioningEvent.Outcome.FAILURE,
                resource_type=self.resource_type,
                resource_id=uuid_or_none(self.kwargs.get("uuid")),
                resource_name=name,
                message=storable_text(error.detail),
                status_code=error.status,
                actor=self.actor,
            )
        except Exception:
            # The IdP must still get its SCIM error; losing the event is the lesser harm.
            logger.exception("Could not record a failure event")


def _auth_failure(request: HttpRequest, refused: ScimToken | None) -> str:
    """Why a 401 was given, for the metrics: no token, one that is no token of this
    directory, a revoked one, or one of a directory whose SCIM is switched off."""
    if not request.META.get("HTTP_AUTHORIZATION"):
        return "missing"
    if refused is None:
        return "invalid"
    return "revoked" if refused.revoked_at is not None else "scim_disabled"


def _resource_name(request: HttpRequest) -> str:
    """The userName or displayName a failed POST/PUT was about, for its event."""
    if request.method not in ("POST", "PUT"):
        return ""
    try:
        raw = request.body
        if len(raw) > 100_000:
            return ""
        body = json.loads(raw)
    except (ValueError, RecursionError, RequestDataTooBig):
        return ""
    if not isinstance(body, dict):
        return ""
    for key, value in body.items():
        if key.lower() in ("username", "displayname") and isinstance(value, str):
            return storable_text(value[:255])
    return ""


_FAILURE_ACTIONS = {
    ("User", "POST"): ProvisioningEvent.Action.USER_CREATE,
    ("User", "PUT"): ProvisioningEvent.Action.USER_UPDATE,
    ("User", "PATCH"): ProvisioningEvent.Action.USER_UPDATE,
    ("User", "DELETE"): ProvisioningEvent.Action.USER_DELETE,
    ("Group", "POST"): ProvisioningEvent.Action.GROUP_CREATE,
    ("Group", "PUT"): ProvisioningEvent.Action.GROUP_UPDATE,
    ("Group", "PATCH"): ProvisioningEvent.Action.GROUP_UPDATE,
    ("Group", "DELETE"): ProvisioningEvent.Action.GROUP_DELETE,
}


def _failure_action(resource_type: str, method: str) -> str:
    return _FAILURE_ACTIONS.get((resource_type, method), ProvisioningEvent.Action.REQUEST)
