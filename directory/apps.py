from __future__ import annotations

from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models import CharField
        from django.db.models.functions import Lower

        # `user_name__lower__startswith="x"` compiles to LOWER("user_name") LIKE 'x%', which
        # the console's prefix-search indexes serve; Django's iexact (UPPER) would scan
        # the table. Equality of userNames and group names does not fold in SQL: it
        # compares the stored keys (directory.names).
        CharField.register_lookup(Lower)
