"""`{{ event|summary }}` in templates: directory.event_text.event_summary."""

from __future__ import annotations

from django import template

from directory.event_text import event_summary
from directory.models import ProvisioningEvent

register = template.Library()


@register.filter
def summary(event: ProvisioningEvent) -> str:
    """The event in words (directory.event_text.event_summary)."""
    return event_summary(event)
