"""Provisioning events: the record of every change a directory write made (or a
refused request), for the Events page, the API and the hourly summaries."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

from directory.audit import Actor
from directory.models import Org, ProvisioningEvent, ScimDirectory
from directory.prepared import insert

# The provisioning log entry (ScimRequest.id) of the SCIM request being served, set by
# the SCIM gate: the events the request causes name it.
scim_request_id: ContextVar[uuid.UUID | None] = ContextVar("scim_request_id", default=None)


def event_record(
    *,
    org: Org,
    actor: Actor,
    action: str,
    outcome: str,
    directory: ScimDirectory | None = None,
    resource_type: str = "",
    resource_id: Any = None,
    resource_name: str = "",
    message: str = "",
    status_code: int | None = None,
    details: dict[str, Any] | None = None,
) -> ProvisioningEvent:
    """Record a provisioning event, naming the actor as its client (Actor.client). Call
    it inside the transaction of the change it describes, so the two commit (or roll
    back) together. Inside directory.prepared.atomic_deferred() it is queued, and its
    id stays unset."""
    return insert(
        ProvisioningEvent(
            org=org,
            directory=directory,
            action=action,
            outcome=outcome,
            resource_type=resource_type,
            resource_id=resource_id,
            resource_name=resource_name[:255],
            message=message,
            status_code=status_code,
            client=actor.client[:255],
            details=details or {},
            request_id=scim_request_id.get(),
        ),
        defer=True,
    )
