"""The directory's own model field: the case key of a userName or displayName."""

from __future__ import annotations

from typing import Any

from django.db import models

from directory.names import user_name_key


class NameKeyField(models.CharField[str | None, str | None]):
    """The key (directory.names) of another field of the row (`source`), kept with it.

    Computed on every INSERT (save, create, bulk_create, directory.prepared.insert),
    and on every UPDATE of a row that has a key. A row without one (NULL: a name that
    collided with an older row's when the key was introduced, migrations 0009 and
    0010) keeps NULL until an update finds its key free (directory.services), so
    updating such a user or group never fails on the unique index."""

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        self.source = source
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str | None:
        current: str | None = getattr(model_instance, self.attname)
        if add or current is not None:
            current = user_name_key(getattr(model_instance, self.source))
            setattr(model_instance, self.attname, current)
        return current
