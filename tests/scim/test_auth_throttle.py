"""Failed authentication is throttled per client address: wrong tokens stop costing
database lookups, while requests with a valid token go on. Behind trusted proxies the
client address comes from X-Forwarded-For, for the throttle as for everything else."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client

from commandcenter.middleware import forwarded_client
from directory.models import ScimDirectory
from tests.scim.conftest import assert_scim_error
from tokens.models import ScimToken

LIMIT = 5


def _address() -> str:
    """A client address of the IPv6 documentation range (RFC 3849), new for each test:
    the counters outlive a test within the minute. No traffic goes to it."""
    return str(ipaddress.ip_address(f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"))


@dataclass(frozen=True)
class Addresses:
    attacker: str = field(default_factory=_address)
    idp: str = field(default_factory=_address)
    other: str = field(default_factory=_address)


@pytest.fixture
def ip() -> Addresses:
    """Client addresses of this test's own (the counters outlive a test)."""
    return Addresses()


@pytest.fixture(autouse=True)
def _limit(settings: Any) -> Iterator[None]:
    settings.SCIM_AUTH_FAILURES_PER_MINUTE = LIMIT
    # The counts are per minute of the clock: start each test just after a minute
    # begins, so a flood and its check fall in the same one.
    with time_machine.travel(datetime(2026, 12, 1, 9, 30, 1, tzinfo=UTC), tick=True):
        yield


def _get(directory: ScimDirectory, token: str, address: str = "", **extra: Any) -> Any:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    if address:
        extra["REMOTE_ADDR"] = address
    return client.get(f"/scim/v2/{directory.id}/Users", **extra)


def _wrong() -> str:
    return "ccscim_" + secrets.token_urlsafe(32)


def _flood(directory: ScimDirectory, address: str, **extra: Any) -> None:
    for _ in range(LIMIT):
        assert_scim_error(_get(directory, _wrong(), address, **extra), 401)


def test_wrong_tokens_past_the_limit_get_429_without_a_database_lookup(
    ip: Addresses, directory: ScimDirectory, django_assert_num_queries: Any
) -> None:
    _flood(directory, ip.attacker)
    with django_assert_num_queries(0):
        r = _get(directory, _wrong(), ip.attacker)
    body = assert_scim_error(r, 429)
    assert "failed authentication" in body["detail"]
    assert 1 <= int(r["Retry-After"]) <= 60
    # A missing header and a revoked token count as failures too.
    assert_scim_error(Client().get(f"/scim/v2/{directory.id}/Users", REMOTE_ADDR=ip.attacker), 429)


def test_a_valid_token_is_not_refused_for_other_clients_failures(
    ip: Addresses, directory: ScimDirectory, token: str
) -> None:
    _flood(directory, ip.attacker)
    assert_scim_error(_get(directory, _wrong(), ip.attacker), 429)
    assert _get(directory, token, ip.idp).status_code == 200
    assert_scim_error(_get(directory, _wrong(), ip.other), 401)  # its own count starts at 0


def test_a_valid_token_known_to_this_process_passes_a_throttled_address(
    ip: Addresses, directory: ScimDirectory, token: str
) -> None:
    assert _get(directory, token, ip.attacker).status_code == 200  # the IdP, behind one NAT
    _flood(directory, ip.attacker)
    assert _get(directory, token, ip.attacker).status_code == 200
    assert_scim_error(_get(directory, _wrong(), ip.attacker), 429)


def test_a_valid_token_in_the_shared_cache_passes_a_throttled_address(
    ip: Addresses, redis_cache: None, directory: ScimDirectory, token: str
) -> None:
    # Another web worker authenticated it (the shared cache holds it); this one has not.
    from scim import throttle
    from tokens.auth import token_authenticate

    assert token_authenticate(token) is not None
    throttle._owners.clear()
    _flood(directory, ip.attacker)
    assert _get(directory, token, ip.attacker).status_code == 200


def test_a_revoked_token_counts_as_a_failure(
    ip: Addresses, directory: ScimDirectory, token: str
) -> None:
    ScimToken.objects.filter(directory=directory).update(revoked_at="2026-01-01T00:00:00Z")
    for _ in range(LIMIT):
        assert_scim_error(_get(directory, token, ip.attacker), 401)
    assert_scim_error(_get(directory, token, ip.attacker), 429)


@pytest.mark.parametrize(
    ("header", "proxies", "client"),
    [
        ("198.51.100.7", 1, "198.51.100.7"),  # documentation addresses (RFC 5737)
        ("1.2.3.4, 198.51.100.7", 1, "198.51.100.7"),  # the client wrote the first entry
        ("198.51.100.7, 10.0.0.5", 2, "198.51.100.7"),
        ("198.51.100.7", 2, None),  # fewer entries than proxies: not believed
        ("not-an-address", 1, None),
        ("", 1, None),
        ("2001:db8::1", 1, "2001:db8::1"),
        ("198.51.100.7", 0, None),
    ],
)
def test_the_client_address_is_read_from_the_trusted_proxies_entries(
    header: str, proxies: int, client: str | None
) -> None:
    assert forwarded_client(header, proxies) == client


def test_behind_a_trusted_proxy_failures_count_per_forwarded_address(
    ip: Addresses, settings: Any, directory: ScimDirectory, token: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "127.0.0.1"
    _flood(directory, proxy, HTTP_X_FORWARDED_FOR=f"9.9.9.9, {ip.attacker}")
    assert_scim_error(_get(directory, _wrong(), proxy, HTTP_X_FORWARDED_FOR=ip.attacker), 429)
    # Another client behind the same proxy is not throttled, and what a client writes in
    # the header itself changes nothing.
    assert_scim_error(_get(directory, _wrong(), proxy, HTTP_X_FORWARDED_FOR=ip.other), 401)
    assert_scim_error(
        _get(directory, _wrong(), proxy, HTTP_X_FORWARDED_FOR=f"{ip.other}, {ip.attacker}"), 429
    )
    # The token's last use records the client, not the proxy.
    assert _get(directory, token, proxy, HTTP_X_FORWARDED_FOR=ip.idp).status_code == 200
    assert ScimToken.objects.get(directory=directory).last_used_ip == ip.idp


def test_without_trusted_proxies_the_header_is_ignored(
    ip: Addresses, directory: ScimDirectory, token: str
) -> None:
    assert _get(directory, token, ip.attacker, HTTP_X_FORWARDED_FOR=ip.idp).status_code == 200
    assert ScimToken.objects.get(directory=directory).last_used_ip == ip.attacker
    _flood(directory, ip.attacker, HTTP_X_FORWARDED_FOR=ip.other)
    assert_scim_error(_get(directory, _wrong(), ip.attacker, HTTP_X_FORWARDED_FOR=ip.idp), 429)
