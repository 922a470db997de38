"""The webhooks' scheduled job (directory.schedule names it)."""

from __future__ import annotations

from celery import shared_task

from webhooks.delivery import deliveries_run


@shared_task(ignore_result=True)
def webhooks_deliver() -> int:
    """Every few seconds: send every due endpoint its pending changes."""
    return deliveries_run()
