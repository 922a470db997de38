"""Every API error as {"error": {"code", "message", "field"}}."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from directory import errors as directory_errors
from directory.change_feed import CursorGone

_STATUS = {
    directory_errors.NotFound: status.HTTP_404_NOT_FOUND,
    directory_errors.Conflict: status.HTTP_409_CONFLICT,
    directory_errors.PreconditionFailed: status.HTTP_409_CONFLICT,
    directory_errors.LimitReached: status.HTTP_409_CONFLICT,
    directory_errors.VersionMismatch: status.HTTP_412_PRECONDITION_FAILED,
}


def _first_error(detail: Any) -> tuple[str | None, str, str]:
    """(field, message, code) of the first error in DRF's nested detail."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            _, message, code = _first_error(value)
            return (None if field == "non_field_errors" else str(field)), message, code
    if isinstance(detail, list) and detail:
        return _first_error(detail[0])
    return None, str(detail), getattr(detail, "code", "invalid")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, CursorGone):
        return Response(
            {
                "error": {"code": exc.code, "message": exc.message, "field": "after"},
                "oldest_cursor": str(exc.oldest),
            },
            status=status.HTTP_410_GONE,
        )
    if isinstance(exc, directory_errors.DirectoryError):
        http_status = _STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST)
        return Response(
            {"error": {"code": exc.code, "message": exc.message, "field": exc.field}},
            status=http_status,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, message, code = _first_error(exc.detail)
    else:
        detail: Any = getattr(exc, "detail", str(exc))
        field, message, code = None, str(detail), str(getattr(detail, "code", "error"))
    response.data = {"error": {"code": code, "message": message, "field": field}}
    return response
