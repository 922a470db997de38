"""Authenticate a SCIM request's bearer token."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from tokens.models import AdminApiKey, ScimToken
from tokens.services import (
    API_KEY_PREFIX,
    CACHE_SECONDS,
    TOKEN_PREFIX,
    cache_enabled,
    cache_key,
    cache_safely,
    token_digest,
)

# How stale last-used information may get before a request writes it again.
LAST_USED_RESOLUTION = timedelta(seconds=60)
# When this process last settled each (token, address, client)'s last use.
_touched: dict[str, float] = {}


def token_from_header(header: str) -> str:
    """The token in an Authorization header: `Bearer <t>` or a bare `<t>` (Okta's
    "HTTP Header" mode sends exactly what the admin typed)."""
    value = header.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer" and rest:
        return rest.strip()
    return value


def token_authenticate(raw: str, *, database: bool = True) -> ScimToken | None:
    """The active token of a live directory that `raw` is, or None.

    The lookup is by digest (an indexed, fixed-length value), and the digest is then
    compared in constant time, so the plaintext is never compared or looked up. With
    `database=False` only the cache of tokens in use is asked (a throttled client's
    requests cost no database lookup).
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = token_digest(raw)
    cached: ScimToken | None = cache_safely("get", cache_key(digest)) if cache_enabled() else None
    if cached is not None and hmac.compare_digest(cached.digest, digest):
        return cached
    if not database:
        return None
    token = (
        ScimToken.objects.select_related("directory", "directory__org")
        .filter(digest=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    if not token.directory.is_live:
        return None
    if cache_enabled():
        # Cached with its directory's access groups, which every user create reads.
        token.directory.access_group_ids  # noqa: B018
        cache_safely("set", cache_key(digest), token, CACHE_SECONDS)
    return token


@dataclass(frozen=True)
class TokenRefusal:
    """Why a token of the directory it was sent to is refused, and that token."""

    reason: str
    token: ScimToken
    scim_off: bool  # the token is fine: its directory's SCIM is switched off


def token_refusal(raw: str, *, directory_id: uuid.UUID) -> TokenRefusal | None:
    """Why `raw`, a token of the directory `directory_id` that did not authenticate, is
    refused, when the reason helps its IdP's admin: the token was revoked, or SCIM is
    switched off. None otherwise (not a token of that directory, or it was deleted), so
    nothing is said about other directories' tokens. Asked only after a refusal."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ScimToken.objects.select_related("directory__org")
        .filter(digest=token_digest(raw), directory_id=directory_id)
        .first()
    )
    if token is None or token.directory.deleted_at is not None:
        return None
    if token.revoked_at is not None:
        reason = f"This token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC"
        return TokenRefusal(reason, token, scim_off=False)
    if not token.directory.enabled:
        return TokenRefusal("SCIM provisioning is switched off for this org", token, scim_off=True)
    return None


def token_touch(token: ScimToken, *, ip: str | None, user_agent: str) -> None:
    """Record when and from where the token was last used.

    Writes at most once per LAST_USED_RESOLUTION for the same token, address and
    client, so a sync of thousands of requests costs a handful of writes.
    """
    user_agent = user_agent[:255]
    now = timezone.now()
    if (
        token.last_used_at is not None
        and now - token.last_used_at < LAST_USED_RESOLUTION
        and token.last_used_ip == ip
        and token.last_used_user_agent == user_agent
    ):
        return
    seen = hashlib.sha256(f"{token.pk}|{ip}|{user_agent}".encode()).hexdigest()
    window = int(LAST_USED_RESOLUTION.total_seconds())
    # This process knows it wrote (or saw another write) within the minute: no need
    # to ask Redis on every request while the cached token's last use is older.
    if time.monotonic() - _touched.get(seen, -window) < window:
        return
    if len(_touched) > 10_000:
        _touched.clear()
    _touched[seen] = time.monotonic()
    if not cache_safely("add", f"scimtoken-touch:{seen}", 1, window, default=True):
        return  # another request of this minute wrote it (the cached token is older)
    ScimToken.objects.filter(pk=token.pk).update(
        last_used_at=now, last_used_ip=ip, last_used_user_agent=user_agent
    )
    token.last_used_at, token.last_used_ip, token.last_used_user_agent = now, ip, user_agent


def api_key_authenticate(raw: str) -> AdminApiKey | None:
    """The active admin API key that `raw` is, or None (looked up by digest, then
    compared in constant time). Its last use is recorded at most once a minute."""
    if not raw.startswith(API_KEY_PREFIX) or len(raw) > 200:
        return None
    digest = token_digest(raw)
    key = (
        AdminApiKey.objects.select_related("user")
        .filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.digest, digest):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        AdminApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
