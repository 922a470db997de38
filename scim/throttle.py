"""Rate limits on the SCIM endpoint, per token and per org, in one-second windows.

Counters live in the cache: Redis in production, so every web worker shares them;
in embedded mode each process counts for itself. If the cache is unreachable the
limiter lets requests through (it fails open) and says so in the log: provisioning
matters more than throttling."""

from __future__ import annotations

import hmac
import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache

from directory.cache import cached_then_counted, counters_hit
from directory.models import Org
from scim.errors import ScimError
from tokens.auth import token_authenticate
from tokens.models import ScimToken
from tokens.services import cache_enabled, cache_key, token_digest

logger = logging.getLogger(__name__)

# The token and org of each token digest this process has authenticated: facts that
# never change. Knowing them, a later request reads its cached token and counts
# against both limits in one Redis round trip instead of two.
_owners: dict[str, tuple[uuid.UUID, int]] = {}


def scim_admit(raw: str, *, address: str = "") -> tuple[ScimToken | None, bool]:
    """The token that `raw` is (None if it is none), and whether this request fits in
    that token's and its org's rate limits. Only authenticated requests count there.

    A request that authenticates nothing counts against its client address; past
    SCIM_AUTH_FAILURES_PER_MINUTE in a minute that address's requests are refused with
    429 without a database lookup, until the minute ends, unless their token is one this
    process or the cache already knows to be valid: an IdP with a good token is never
    refused for other clients' failures."""
    digest = token_digest(raw) if raw else ""
    owners = _owners.get(digest)
    if owners is not None and cache_enabled():
        try:
            found = cached_then_counted(cache_key(digest), _counters(*owners), ttl=2)
        except Exception:
            found = None  # Redis is down: the path below copes and says so
        if found is not None:
            token, (on_token, on_org) = found
            if hmac.compare_digest(token.digest, digest):
                return token, _within_limits(token.directory.org, on_token, on_org)
    throttled = owners is None and _auth_failures(address) >= settings.SCIM_AUTH_FAILURES_PER_MINUTE
    token = token_authenticate(raw, database=not throttled) if raw else None
    if token is None:
        if throttled:
            raise ScimError(
                429,
                "Too many requests from this address failed authentication: retry after "
                "the Retry-After seconds with a valid token",
                headers={"Retry-After": str(60 - int(time.time()) % 60)},
            )
        _auth_failure_count(address)
        return None, True
    if len(_owners) > 10_000:
        _owners.clear()
    _owners[digest] = (token.pk, token.directory.org_id)
    return token, scim_request_allowed(token=token, org=token.directory.org)


def _auth_failure_key(address: str) -> str:
    return f"scimauthfail:{address}:{int(time.time()) // 60}"


def _auth_failures(address: str) -> int:
    """Failed authentications from `address` in this minute (0 if the cache is down)."""
    if not address:
        return 0
    try:
        return int(cache.get(_auth_failure_key(address)) or 0)
    except Exception:
        return 0


def _auth_failure_count(address: str) -> None:
    if address:
        try:
            counters_hit([_auth_failure_key(address)], ttl=60)
        except Exception:
            logger.warning("SCIM failed-authentication counter unavailable")


def scim_request_allowed(*, token: ScimToken, org: Org) -> bool:
    """Count this request and say whether it fits in the token's and the org's limits."""
    try:
        on_token, on_org = counters_hit(_counters(token.pk, org.pk), ttl=2)
    except Exception:
        logger.warning("SCIM rate limiter unavailable: letting the request through")
        return True
    return _within_limits(org, on_token, on_org)


def _counters(token_id: uuid.UUID, org_id: int) -> list[str]:
    window = int(time.time())  # one-second windows
    return [f"scimrate:t:{token_id}:{window}", f"scimrate:o:{org_id}:{window}"]


def _within_limits(org: Org, on_token: int, on_org: int) -> bool:
    per_org = org.scim_rate_limit or settings.SCIM_RATE_PER_ORG
    return on_token <= settings.SCIM_RATE_PER_TOKEN and on_org <= per_org


def refusal_event_due(*, org: Org) -> bool:
    """At most one event a minute per org for a revoked token or SCIM switched off."""
    try:
        return bool(cache.add(f"scimrefused:event:{org.pk}", 1, 60))
    except Exception:
        return False


def throttle_event_due(*, org: Org) -> bool:
    """At most one Throttled event per org and minute, so a flood costs no writes."""
    try:
        return bool(cache.add(f"scimrate:event:{org.pk}", 1, 60))
    except Exception:
        return False
