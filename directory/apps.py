from __future__ import annotations

from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models import CharField
        from django.db.models.functions import Lower

        # `display_name__lower="x"` compiles to LOWER("display_name") = 'x', which uses
        # the functional unique index of groups, and `__lower__startswith` the console's
        # prefix-search indexes; Django's iexact (UPPER) would scan the table. userName
        # equality no longer folds in SQL: it compares EndUser.user_name_key.
        CharField.register_lookup(Lower)
