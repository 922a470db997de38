"""The LDAP client: connect and bind, and paged searches, on ldap3 (pure Python, so the
service keeps needing nothing outside Python wheels). No rules here: what to sync and
how entries become users is directory.services.ldap_mapping and directory.services.ldap_sync.

Every failure is an LdapError with a sentence an admin can act on (wrong password,
server unreachable, certificate refused, base DN missing), never an ldap3 traceback."""

from __future__ import annotations

import re
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ldap3
from django.conf import settings as django_settings
from ldap3.core import exceptions as ldap_errors

from directory.outbound import OutboundError, address_for

# The simple paged results control (RFC 2696).
_PAGED_RESULTS = "1.2.840.113556.1.4.319"
CONNECT_TIMEOUT = 10
RECEIVE_TIMEOUT = 60


class LdapError(Exception):
    """The server could not be reached, refused the bind, or refused a search."""


@dataclass(frozen=True)
class LdapSettings:
    url: str
    security: str  # "ldaps", "starttls" or "none" (LdapDirectory.Security)
    bind_dn: str
    bind_password: str
    ca_certificate: str = ""


@dataclass(frozen=True)
class Entry:
    """One search result: its DN and raw attribute values (bytes), by lower-case name."""

    dn: str
    attributes: dict[str, list[bytes]]

    def values(self, name: str) -> list[bytes]:
        return self.attributes.get(name.lower(), []) if name else []

    def text(self, name: str) -> str:
        """The first value of attribute `name` as text ("" when absent)."""
        values = self.values(name)
        return values[0].decode("utf-8", "replace").strip() if values else ""

    def texts(self, name: str) -> list[str]:
        return [v.decode("utf-8", "replace").strip() for v in self.values(name)]


def _server(settings: LdapSettings, ca_file: str | None) -> ldap3.Server:
    parts = urlsplit(settings.url)
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise LdapError(f"{settings.url!r} is not an ldap:// or ldaps:// URL")
    use_ssl = parts.scheme == "ldaps"
    if use_ssl != (settings.security == "ldaps"):
        raise LdapError(
            "An ldaps:// URL goes with TLS from the start, an ldap:// URL with StartTLS or none"
        )
    try:
        port = parts.port or (636 if use_ssl else 389)
    except ValueError:
        raise LdapError(f"{settings.url!r} has an invalid port") from None
    tls = None
    if settings.security != "none":
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED,
            version=ssl.PROTOCOL_TLS_CLIENT,
            ca_certs_file=ca_file,
            # The socket goes to the checked address; the certificate must name the host.
            valid_names=[parts.hostname],
            sni=parts.hostname,
        )
    elif not getattr(django_settings, "OUTBOUND_ALLOW_PRIVATE", False):
        raise LdapError(
            "Unencrypted LDAP sends the bind password in clear: use ldaps:// or StartTLS "
            "(plain ldap:// is for development, with OUTBOUND_ALLOW_PRIVATE on)"
        )
    # The outbound policy (directory.outbound): an org admin's URL never reaches a
    # private, loopback or link-local address of ours, and DNS is asked once.
    try:
        address = address_for(parts.hostname, port)
    except OutboundError as e:
        raise LdapError(f"Cannot reach {settings.url}: {e}") from None
    return ldap3.Server(
        address,
        port=port,
        use_ssl=use_ssl,
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=CONNECT_TIMEOUT,
    )


@contextmanager
def ldap_connect(settings: LdapSettings) -> Iterator[ldap3.Connection]:
    """A bound connection, unbound when the block ends; LdapError if that fails."""
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
        ca_file = None
        if settings.ca_certificate.strip():
            ca.write(settings.ca_certificate)
            ca.flush()
            ca_file = ca.name
        server = _server(settings, ca_file)
        connection = ldap3.Connection(
            server,
            user=settings.bind_dn,
            password=settings.bind_password,
            receive_timeout=RECEIVE_TIMEOUT,
            raise_exceptions=True,
            read_only=True,
        )
        try:
            connection.open()
            if settings.security == "starttls":
                connection.start_tls()
            connection.bind()
        except ldap_errors.LDAPInvalidCredentialsResult:
            raise LdapError(
                f"The server refused the bind DN and password ({settings.bind_dn!r})"
            ) from None
        except (ldap_errors.LDAPException, OSError) as e:
            untrusted = _certificate_refusal(e)
            if untrusted:
                raise LdapError(
                    f"The TLS certificate of {settings.url} was refused: {untrusted} (give "
                    "the CA certificate that signed it, or check the host name)"
                ) from None
            if isinstance(e, ldap_errors.LDAPSocketOpenError):
                raise LdapError(f"Cannot reach {settings.url}: {_reason(e)}") from None
            if isinstance(e, ldap_errors.LDAPStartTLSError):
                raise LdapError(f"StartTLS failed with {settings.url}: {_reason(e)}") from None
            raise LdapError(f"Cannot bind to {settings.url}: {_reason(e)}") from None
        try:
            yield connection
        finally:
            try:
                connection.unbind()
            except (ldap_errors.LDAPException, OSError):
                pass


def _certificate_refusal(e: BaseException) -> str:
    """Why TLS refused the server's certificate ("certificate verify failed: ..."), or ""."""
    found = re.search(r"certificate verify failed: ([^(')\]]+)", str(e))
    if found:
        return f"certificate verify failed: {found.group(1).strip()}"
    found = re.search(r"(IP address mismatch[^(')\]]*|Hostname mismatch[^(')\]]*)", str(e))
    return found.group(1).strip() if found else ""


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0][:300]


def paged_search(
    connection: ldap3.Connection,
    *,
    base: str,
    search_filter: str,
    attributes: list[str],
    page_size: int,
) -> Iterator[list[Entry]]:
    """The entries under `base` that match, one page at a time (the simple paged
    results control), so a large directory is never held at once."""
    cookie: bytes | None = None
    while True:
        try:
            connection.search(
                base,
                search_filter,
                search_scope=ldap3.SUBTREE,
                attributes=attributes or [ldap3.NO_ATTRIBUTES],
                paged_size=page_size,
                paged_cookie=cookie,
            )
        except ldap_errors.LDAPNoSuchObjectResult:
            raise LdapError(f"The base DN {base!r} does not exist on the server") from None
        except ldap_errors.LDAPInvalidFilterError:
            raise LdapError(f"The filter {search_filter!r} is not a valid LDAP filter") from None
        except (ldap_errors.LDAPException, OSError) as e:
            raise LdapError(f"The search under {base!r} failed: {_reason(e)}") from None
        page = [
            Entry(
                dn=str(item["dn"]),
                attributes={str(k).lower(): [bytes(v) for v in vs] for k, vs in _raw(item).items()},
            )
            for item in connection.response or []
            if item.get("type") == "searchResEntry"
        ]
        yield page
        controls: dict[str, Any] = connection.result.get("controls") or {}
        cookie = controls.get(_PAGED_RESULTS, {}).get("value", {}).get("cookie")
        if not cookie:
            return


def _raw(item: dict[str, Any]) -> dict[str, list[bytes]]:
    raw = item.get("raw_attributes") or {}
    return {k: list(v) for k, v in raw.items()}
