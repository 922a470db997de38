from __future__ import annotations

from django.contrib import admin

from tokens.models import ScimToken


@admin.register(ScimToken)
class ScimTokenModelAdmin(admin.ModelAdmin[ScimToken]):
    list_display = [
        "prefix",
        "name",
        "directory",
        "created_at",
        "revoked_at",
        "last_used_at",
    ]
    list_select_related = ["directory", "directory__org"]
    search_fields = ["prefix", "name", "directory__org__slug"]
    # Operators can see and revoke tokens, never create them here: issuing is
    # tokens.services.token_issue, which shows the plaintext once.
    readonly_fields = [
        "id",
        "directory",
        "prefix",
        "digest",
        "created_at",
        "created_by",
        "last_used_at",
        "last_used_ip",
        "last_used_user_agent",
    ]

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False
