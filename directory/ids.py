"""Ids as they arrive from URLs and forms: a UUID, or None for anything else."""

from __future__ import annotations

import uuid
from typing import Any


def uuid_or_none(value: Any) -> uuid.UUID | None:
    """`value` as a UUID; None when it is empty or not one (a malformed id matches
    nothing, it is not an error)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
