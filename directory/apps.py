from __future__ import annotations

from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models import CharField
        from django.db.models.functions import Lower

        # `user_name__lower="x"` compiles to LOWER("user_name") = 'x', which uses the
        # functional unique indexes; Django's iexact (UPPER) would scan the table.
        CharField.register_lookup(Lower)
