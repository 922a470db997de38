"""Errors raised by directory and token services.

Each carries a stable `code` so every interface (SCIM, console, CLI, API) can
map it to its own shape: a SCIM Error, a form error, a CommandError.
"""

from __future__ import annotations


class DirectoryError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DirectoryError):
    code = "not_found"


class Conflict(DirectoryError):
    """A uniqueness rule would be broken (SCIM: 409 uniqueness)."""

    code = "uniqueness"


class InvalidValue(DirectoryError):
    code = "invalid_value"


class PreconditionFailed(DirectoryError):
    """The org is not in a state that allows the action (no IdP saved, ...)."""

    code = "precondition"


class LimitReached(DirectoryError):
    code = "limit"


class VersionMismatch(DirectoryError):
    """If-Match did not match the resource's current version (SCIM: 412)."""

    code = "version_mismatch"
