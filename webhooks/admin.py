"""Webhook endpoints for operators: seen, never written here (their changes go through
webhooks.services, audited; secrets are never shown again)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from webhooks.models import WebhookDelivery, WebhookEndpoint


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointModelAdmin(ReadOnly, admin.ModelAdmin[WebhookEndpoint]):
    list_display = ["url", "org", "enabled", "failures", "failing_since", "created_at"]
    list_filter = ["enabled"]
    list_select_related = ["org"]
    search_fields = ["url", "org__slug"]
    exclude = ["lease_until"]


@admin.register(WebhookDelivery)
class WebhookDeliveryModelAdmin(ReadOnly, admin.ModelAdmin[WebhookDelivery]):
    list_display = ["attempted_at", "endpoint", "attempt", "succeeded", "status", "latency_ms"]
    list_filter = ["succeeded"]
    list_select_related = ["endpoint"]
    raw_id_fields = ["endpoint", "change"]
    date_hierarchy = "attempted_at"
    show_full_result_count = False
