"""The audit trail of admin actions (SCIM on/off, tokens, policies, deletions), and who
acts: every directory service that writes an audit entry or a provisioning event takes
an Actor."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from directory.models import AuditEvent, Org


@dataclass(frozen=True)
class Actor:
    """Who did something, from where and through which interface (AuditEvent.Via)."""

    who: str
    via: str = AuditEvent.Via.CONSOLE
    ip: str | None = None

    @property
    def client(self) -> str:
        """How a provisioning event names where a change came from: a SCIM client by its
        User-Agent, a sign-in by the browser's address, anyone else as "<via>: <who>"
        ("console: alice@acme.example")."""
        if self.via in (AuditEvent.Via.SCIM, AuditEvent.Via.SIGNIN):
            return self.who
        return f"{self.via}: {self.who}"


def operator_actor() -> Actor:
    """An operator at the server's shell (manage.py commands, the demo set-up): the
    audit trail names the system account they are logged in as."""
    return Actor(who=f"operator {getpass.getuser()}", via=AuditEvent.Via.CLI)


def scim_actor(*, user_agent: str, ip: str | None) -> Actor:
    """An IdP's SCIM client, named by its User-Agent (what the Events page shows)."""
    return Actor(who=user_agent[:255], via=AuditEvent.Via.SCIM, ip=ip)


def system_actor(job: str) -> Actor:
    """A scheduled job of directory.schedule acting on its own."""
    return Actor(who=job, via=AuditEvent.Via.SYSTEM)


def ldap_actor(*, url: str) -> Actor:
    """An org's LDAP sync (directory.services.ldap_sync), named by its server's URL."""
    return Actor(who=url[:255], via=AuditEvent.Via.LDAP)


def signin_actor(*, ip: str | None) -> Actor:
    """An end user signing in (which may create them just in time), named by the
    browser's address."""
    return Actor(who=ip or "unknown address", via=AuditEvent.Via.SIGNIN, ip=ip or None)


def audit_record(
    *, org: Org, actor: Actor | None, action: str, target: str = "", **details: Any
) -> None:
    """Record an admin action, in the caller's transaction. The directory services
    always name an actor; without one (tokens.services lets its callers leave it out)
    nothing is recorded."""
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
