"""One-time values of sign-ins in flight, shared by every worker (SigninNonce rows):

    nonce_put(org, kind, key, ttl, data)   remember a value until it expires
    nonce_take(org, kind, key) -> data      use it: once, and only before it expires;
                                            None when it is unknown, used or expired
    assertion_first_use(org, id, until)     True the first time an assertion ID is
                                            seen, False for a replay (kept until `until`)

Expired rows are deleted as new ones are written, so the table stays small.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from directory.models import Org, SigninNonce


def _prune() -> None:
    SigninNonce.objects.filter(expires_at__lte=timezone.now()).delete()


def nonce_put(
    *, org: Org, kind: str, key: str, ttl: timedelta, data: dict[str, Any] | None = None
) -> None:
    _prune()
    SigninNonce.objects.create(
        org=org, kind=kind, key=key[:255], data=data or {}, expires_at=timezone.now() + ttl
    )


def nonce_take(*, org: Org, kind: str, key: str) -> dict[str, Any] | None:
    with transaction.atomic():
        row = (
            SigninNonce.objects.select_for_update()
            .filter(org=org, kind=kind, key=key[:255], expires_at__gt=timezone.now())
            .first()
        )
        if row is None:
            return None
        row.delete()
        return row.data


def assertion_first_use(*, org: Org, assertion_id: str, until: datetime) -> bool:
    """Record an accepted assertion's ID; False when it was accepted before (a replay)."""
    _prune()
    try:
        with transaction.atomic():
            SigninNonce.objects.create(
                org=org,
                kind=SigninNonce.Kind.ASSERTION,
                key=assertion_id[:255],
                expires_at=max(until, timezone.now() + timedelta(minutes=5)),
            )
    except IntegrityError:
        return False
    return True
