"""The client's address, once for every interface.

Behind the TLS proxy the README documents, REMOTE_ADDR is the proxy's. With
TRUSTED_PROXY_COUNT = N, this sets REMOTE_ADDR to the address the N-th proxy from us saw:
the N-th entry of X-Forwarded-For counted from the right (each proxy appends the address
it was reached from; entries further left are whatever the client wrote, so they are never
believed). Everything that uses the client's address reads REMOTE_ADDR after this: the
SCIM failed-authentication throttle, django-axes, the audit log, tokens' last use, logs.
Unset (0), the header is ignored and this middleware is not even loaded.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from directory import request_ids
from directory.services import admin_mfa

# What a proxy's own request id may look like to be logged beside ours (nginx's
# $request_id is 32 hex digits, others send a UUID): nothing that could forge a log line.
_UPSTREAM_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def forwarded_client(forwarded_for: str, proxies: int) -> str | None:
    """The client address `proxies` trusted proxies report, or None when the header does
    not hold that many valid entries (then REMOTE_ADDR stays the direct peer)."""
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    if proxies < 1 or len(hops) < proxies:
        return None
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


class ClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.proxies = settings.TRUSTED_PROXY_COUNT
        if self.proxies < 1:
            raise MiddlewareNotUsed

    def __call__(self, request: HttpRequest) -> HttpResponse:
        client = forwarded_client(request.META.get("HTTP_X_FORWARDED_FOR", ""), self.proxies)
        if client is not None:
            request.META["REMOTE_ADDR"] = client
        return self.get_response(request)


class RequestIdMiddleware:
    """Every request gets an id of its own, a fresh uuid4: the `request_id` of its log
    lines, the X-Request-ID header of its response and, for SCIM, its provisioning log
    entry's id. An X-Request-ID the client sent is never taken as ours (it could name
    another request's log entry); a well-formed one is logged beside it as
    `upstream_request_id`, so a proxy's logs can be matched with ours."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = uuid.uuid4()
        context = request_ids.request_id.set(rid)
        upstream = request.META.get("HTTP_X_REQUEST_ID")
        upstream_context = (
            request_ids.upstream_request_id.set(upstream)
            if upstream and _UPSTREAM_ID.fullmatch(upstream)
            else None
        )
        try:
            response = self.get_response(request)
        finally:
            request_ids.request_id.reset(context)
            if upstream_context is not None:
                request_ids.upstream_request_id.reset(upstream_context)
        response["X-Request-ID"] = str(rid)
        return response


class AdminMfaMiddleware:
    """The console's pages (/, /o/..., /account/...) ask a signed-in admin for their second
    factor until this session has passed it, if they have one; an admin without one, of an
    org that requires it, is sent to set it up first. The sign-in pages and the MFA pages
    themselves are open; SCIM, the admin API (bearer keys), end users' sign-in and the
    Django admin (operators) are not the console's and are not asked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        console = path == "/" or path.startswith(("/o/", "/account/"))
        user = request.user
        if console and user.is_authenticated and not path.startswith("/account/mfa/"):
            if not user.is_verified():  # type: ignore[attr-defined]  # OTPMiddleware adds it
                if admin_mfa.admin_mfa_enrolled(user=user):
                    return self._to("mfa-verify", request)
                if admin_mfa.admin_mfa_required(user=user):
                    return self._to("mfa-setup", request)
        return self.get_response(request)

    @staticmethod
    def _to(name: str, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(
            f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}"
        )
