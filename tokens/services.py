"""Issue and revoke SCIM API tokens. The plaintext leaves this module exactly once."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.audit import Actor, audit_record
from directory.errors import LimitReached, NotFound, PreconditionFailed
from directory.models import ScimDirectory
from tokens.models import AdminApiKey, ScimToken, TokenIssueReplay

logger = logging.getLogger(__name__)

# Recognisable in logs, secret scanners and the Authorization header.
TOKEN_PREFIX = "ccscim_"
MAX_ACTIVE_TOKENS = 2

# Authenticated tokens are kept this long in the shared cache (Redis). Revoking a
# token, or disabling or deleting its directory, deletes the entry at once.
CACHE_SECONDS = 300


def cache_key(digest: str) -> str:
    return f"scimtoken:{digest}"


def cache_enabled() -> bool:
    # Only a cache all web workers share can be invalidated for all of them at once;
    # without Redis (embedded mode) every request reads the token row instead.
    return bool(settings.REDIS_URL)


def cache_safely(method: str, *args: Any, default: Any = None) -> Any:
    """Call the cache, or return `default` when it is unreachable: a Redis outage must
    slow SCIM down (every request reads its token row), never break it."""
    try:
        return getattr(cache, method)(*args)
    except Exception:
        logger.warning("Cache unavailable for %s; going on without it", method)
        return default


def token_cache_forget(digests: Iterable[str]) -> None:
    """Drop cached tokens now and again after the current transaction commits, so no
    request can re-cache what the transaction is changing."""
    keys = [cache_key(d) for d in digests]
    if not keys or not cache_enabled():
        return
    cache_safely("delete_many", keys)
    transaction.on_commit(lambda: cache_safely("delete_many", keys))


def token_digest(raw: str) -> str:
    # The token carries 256 bits of entropy, so a plain SHA-256 is enough: there is
    # nothing to brute-force, and a fixed digest allows an indexed lookup.
    return hashlib.sha256(raw.encode()).hexdigest()


def _secret_new(prefix: str) -> tuple[str, str, str]:
    """A new secret: its plaintext (256 random bits after `prefix`), the part shown in
    lists to tell secrets apart, and the digest that is stored."""
    plaintext = prefix + secrets.token_urlsafe(32)
    return plaintext, plaintext[: len(prefix) + 4], token_digest(plaintext)


@dataclass(frozen=True)
class IssuedToken:
    token: ScimToken
    plaintext: str


def token_issue(
    *,
    directory: ScimDirectory,
    name: str = "",
    created_by: User | None = None,
    actor: Actor | None = None,
) -> IssuedToken:
    """Issue a token for the directory; its plaintext is returned here and never again.

    Raises LimitReached when the directory already has two active tokens, and
    PreconditionFailed when the directory is deleted.
    """
    with transaction.atomic():
        # Lock the directory row so concurrent issues count tokens one at a time.
        locked = ScimDirectory.objects.select_for_update().get(pk=directory.pk)
        if locked.deleted_at is not None:
            raise PreconditionFailed("This SCIM directory was deleted")
        active = locked.tokens.filter(revoked_at__isnull=True).count()
        if active >= MAX_ACTIVE_TOKENS:
            raise LimitReached(
                f"A SCIM directory can have at most {MAX_ACTIVE_TOKENS} active API tokens: "
                "revoke one before generating another"
            )
        plaintext, shown, digest = _secret_new(TOKEN_PREFIX)
        token = ScimToken.objects.create(
            directory=locked,
            name=name.strip()[:100],
            prefix=shown,
            digest=digest,
            created_by=created_by,
        )
        audit_record(
            org=locked.org, actor=actor, action="token.issue", target=f"{token.prefix}… {name}"
        )
    return IssuedToken(token=token, plaintext=plaintext)


def token_revoke(
    *, directory: ScimDirectory, token_id: str, actor: Actor | None = None
) -> ScimToken:
    """Revoke one of the directory's tokens; it authenticates nothing from now on."""
    try:
        token = directory.tokens.get(id=uuid.UUID(str(token_id)))
    except (ScimToken.DoesNotExist, ValueError):
        raise NotFound(f"No token {token_id!r} in this directory") from None
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            org=directory.org, actor=actor, action="token.revoke", target=f"{token.prefix}…"
        )
    token_cache_forget([token.digest])
    return token


# Admin API keys ------------------------------------------------------------------

API_KEY_PREFIX = "ccapi_"


@dataclass(frozen=True)
class IssuedApiKey:
    key: AdminApiKey
    plaintext: str


def api_key_issue(*, user: User, name: str = "", read_only: bool = False) -> IssuedApiKey:
    """Issue a personal admin API key; its plaintext is returned here and never again."""
    plaintext, shown, digest = _secret_new(API_KEY_PREFIX)
    key = AdminApiKey.objects.create(
        user=user, name=name.strip()[:100], prefix=shown, digest=digest, read_only=read_only
    )
    return IssuedApiKey(key=key, plaintext=plaintext)


def api_key_revoke(*, user: User, key_id: str) -> AdminApiKey:
    """Revoke one of this person's API keys, at once."""
    try:
        key = user.api_keys.get(id=uuid.UUID(str(key_id)))
    except (AdminApiKey.DoesNotExist, ValueError):
        raise NotFound(f"No API key {key_id!r}") from None
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


# The operation an Idempotency-Key of token_issue_once is scoped to.
_ISSUE = "scim_token_issue"


def token_issue_once(
    *,
    directory: ScimDirectory,
    name: str,
    created_by: User,
    idempotency_key: str,
    actor: Actor | None = None,
) -> tuple[ScimToken, str | None]:
    """token_issue honouring an Idempotency-Key: the first call issues (and returns the
    plaintext); a retry with the same key returns the same token, without plaintext."""
    scope = {
        "user": created_by,
        "org_id": directory.org_id,
        "operation": _ISSUE,
        "key": idempotency_key,
    }
    replay = TokenIssueReplay.objects.filter(**scope).select_related("token").first()
    if replay is not None:
        return replay.token, None
    issued = token_issue(directory=directory, name=name, created_by=created_by, actor=actor)
    try:
        with transaction.atomic():
            TokenIssueReplay.objects.create(**scope, token=issued.token)
    except IntegrityError:
        # A concurrent retry won: keep its token, withdraw ours.
        issued.token.revoked_at = timezone.now()
        issued.token.save(update_fields=["revoked_at"])
        replay = TokenIssueReplay.objects.select_related("token").get(**scope)
        return replay.token, None
    return issued.token, issued.plaintext
