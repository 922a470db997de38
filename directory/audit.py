"""The audit trail of admin actions (SCIM on/off, tokens, policies, deletions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from directory.models import AuditEvent, Org


@dataclass(frozen=True)
class Actor:
    """Who did something, from where and through which interface."""

    who: str
    via: str = AuditEvent.Via.CONSOLE
    ip: str | None = None


def audit_record(
    *, org: Org, actor: Actor | None, action: str, target: str = "", **details: Any
) -> None:
    """Record an admin action, in the caller's transaction. No actor, no record (tests
    and internal calls)."""
    if actor is None:
        return
    AuditEvent.objects.create(
        org=org,
        actor=actor.who[:254],
        ip=actor.ip,
        via=actor.via,
        action=action,
        target=target[:255],
        details=details,
    )
