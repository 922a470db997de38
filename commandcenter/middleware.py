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
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse


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
