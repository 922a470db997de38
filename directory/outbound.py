"""Requests this server makes to addresses an admin typed: one policy for all of them.

IdP metadata URLs and OIDC discovery and JWKS now, webhooks later, all go through
`fetch` (LDAP connections through `address_for`, the same address check), which
refuses what would let an org admin reach inside our network (server-side request
forgery):

- https only, unless the operator setting OUTBOUND_ALLOW_PRIVATE is on (development and
  tests, where the IdP runs on 127.0.0.1 over plain http);
- the host is resolved once, every address it resolves to must be public (no private,
  loopback, link-local, multicast or reserved address, IPv4-mapped IPv6 included), and
  the connection goes to that checked address, so a second DNS answer cannot swap it
  (DNS rebinding). OUTBOUND_ALLOW_PRIVATE admits private and loopback addresses, never
  link-local ones: 169.254.169.254 is a cloud's metadata service, never an IdP;
- short timeouts, a cap on the body's size, and at most a few redirects, each one
  checked like the first URL. A POST (an OIDC token endpoint) is never redirected: a
  redirect would carry its form (a client secret, an authorization code) elsewhere, so
  it is refused instead of followed.

TLS is verified as usual (urllib3, the system's trust store) against the host's name,
though the socket is opened to the checked address.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import urllib3
from django.conf import settings

DEFAULT_TIMEOUT = 5.0  # seconds, to connect and for the whole response
DEFAULT_MAX_BYTES = 1_000_000
MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}
# Headers `fetch` sets itself; a caller's are dropped.
_OURS = {"host", "accept", "user-agent", "content-type", "content-length", "transfer-encoding"}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundError(Exception):
    """A request that was refused or failed; the message is safe to show an admin."""


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes


def _allow_private() -> bool:
    return bool(getattr(settings, "OUTBOUND_ALLOW_PRIVATE", False))


def address_refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why a request may not go to `ip`, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified:
        return "not a unicast address"
    if ip.is_global:
        return None
    if allow_private and (ip.is_private or ip.is_loopback):
        return None
    return "a private, loopback or reserved address"


def _resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The one address to connect to; every address the name resolves to must be allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise OutboundError(f"{host} could not be resolved ({e})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OutboundError(f"{host} could not be resolved")
    for address in addresses:
        why = address_refusal(
            ipaddress.ip_address(address.split("%")[0]), allow_private=allow_private
        )
        if why is not None:
            raise OutboundError(f"{host} resolves to {address}, {why}: refused")
    return addresses[0]


def url_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why this server may not send requests to `url` (its scheme, its host's
    addresses), or None: what a form checks before it saves a URL."""
    try:
        _, host, port, _ = _check_url(url, allow_private=allow_private)
        _resolve(host, port, allow_private=allow_private)
    except OutboundError as e:
        return str(e)
    return None


def address_for(host: str, port: int) -> str:
    """The checked address to open a connection to `host` on, by the policy above, for
    clients that are not HTTP (LDAP). OutboundError when it is refused."""
    return _resolve(host, port, allow_private=_allow_private())


def _check_url(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of a URL this server may request."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundError("The URL is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise OutboundError("Only https URLs are allowed")
    if scheme == "http" and not allow_private:
        raise OutboundError("Only https URLs are allowed")
    host = parts.hostname
    if not host:
        raise OutboundError("The URL has no host")
    if parts.username or parts.password:
        raise OutboundError("The URL must not carry a user name or password")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), target


def fetch(
    url: str,
    *,
    method: str = "GET",
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    accept: str = "*/*",
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    statuses: Collection[int] = (200,),
    content: bytes | None = None,
    content_type: str = "",
    allow_private: bool | None = None,
    truncate: bool = False,
) -> Response:
    """GET `url`, or POST the form `data` (or the bytes `content` of `content_type`)
    to it, under the policy above, and return the response when its status is one of
    `statuses`. `headers` are sent as well (an Authorization header); they cannot
    replace Host or the Content-Type. A redirect is followed for a GET only.
    `allow_private` overrides OUTBOUND_ALLOW_PRIVATE (webhooks have their own setting);
    with `truncate` a body over `max_bytes` is cut there instead of refused.
    OutboundError says why when it cannot."""
    if method not in ("GET", "POST"):
        raise ValueError(f"fetch does not send {method} requests")
    if (data is not None or content is not None) and method != "POST":
        raise ValueError("Only a POST carries a body")
    if data is not None and content is not None:
        raise ValueError("A POST carries a form or content, not both")
    body = urlencode(dict(data)).encode() if data is not None else content
    sent_type = "application/x-www-form-urlencoded" if data is not None else content_type
    allow_private = _allow_private() if allow_private is None else allow_private
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, target = _check_url(url, allow_private=allow_private)
        address = _resolve(host, port, allow_private=allow_private)
        default_port = 443 if scheme == "https" else 80
        host_header = host if port == default_port else f"{host}:{port}"
        remaining = max(deadline - time.monotonic(), 0.1)
        pool_timeout = urllib3.Timeout(connect=min(remaining, timeout), read=remaining)
        pool: urllib3.HTTPConnectionPool
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=pool_timeout,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                server_hostname=host,
                assert_hostname=host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=pool_timeout, retries=False)
        try:
            sent = {
                **{k: v for k, v in (headers or {}).items() if k.lower() not in _OURS},
                "Host": host_header,
                "Accept": accept,
                "User-Agent": "CommandCenter",
            }
            if body is not None:
                sent["Content-Type"] = sent_type
            response = pool.urlopen(
                method,
                target,
                body=body,
                headers=sent,
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                if response.status in _REDIRECTS and response.headers.get("Location"):
                    if method != "GET":
                        raise OutboundError(
                            f"{host} answered the {method} with a redirect "
                            f"(HTTP {response.status}): not followed"
                        )
                    url = urljoin(url, response.headers["Location"])
                    continue
                received = _read_capped(response, max_bytes, deadline, truncate=truncate)
            finally:
                response.release_conn()
        except urllib3.exceptions.SSLError as e:
            raise OutboundError(f"TLS with {host} failed: {_reason(e)}") from None
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise OutboundError(f"{host} did not answer within {timeout:g} seconds") from None
        except urllib3.exceptions.HTTPError as e:
            raise OutboundError(f"Could not reach {host}: {_reason(e)}") from None
        finally:
            pool.close()
        if response.status not in statuses:
            raise OutboundError(f"{host} answered HTTP {response.status}")
        return Response(url, response.status, response.headers.get("Content-Type", ""), received)
    raise OutboundError(f"More than {MAX_REDIRECTS} redirects")


def _read_capped(
    response: urllib3.BaseHTTPResponse, max_bytes: int, deadline: float, *, truncate: bool
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.stream(65536):
        size += len(chunk)
        if size > max_bytes:
            if truncate:
                chunks.append(chunk[: max_bytes - (size - len(chunk))])
                break
            raise OutboundError(f"The response is larger than {max_bytes:,} bytes")
        if time.monotonic() > deadline:
            raise TimeoutError
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(e: Exception) -> str:
    reason = getattr(e, "reason", None) or e
    return str(reason)[:200]
