"""Who a test acts as when it calls a directory service itself, to set the scene or to
try a rule with no interface in front of it: an operator, as at the server's shell."""

from __future__ import annotations

from directory.audit import Actor
from directory.models import AuditEvent

OPERATOR = Actor(who="operator pytest", via=AuditEvent.Via.CLI)
