from __future__ import annotations

from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tokens import receivers

        # Cached tokens forget their directory and org when either changes.
        receivers.connect()
