"""Query parameters the console and the admin API read alike."""

from __future__ import annotations

from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware


def parse_when(value: str) -> datetime | None:
    """A `from`/`to` filter value: an ISO 8601 date or date-time (`+` in an offset may
    arrive as a space from a query string), in the server's zone when it names none.
    None for empty or unreadable values (the filter is then not applied)."""
    if not value:
        return None
    when = parse_datetime(value.replace(" ", "+")) if "T" in value else None
    if when is None:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    return make_aware(when) if is_naive(when) else when
