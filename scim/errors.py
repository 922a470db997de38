"""SCIM errors (RFC 7644 §3.12): every failure an IdP can cause becomes one of these,
answered as SCIM Error JSON with a string status and, where the RFC has one, a scimType."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django_scim.exceptions import SCIMException

from directory import errors as directory_errors
from scim.schema import ERROR_SCHEMA

SCIM_CONTENT_TYPE = "application/scim+json"


class ScimError(SCIMException):
    """A SCIM error. django-scim2's SCIMException carries status and scimType; we add
    the RFC's string status, extra headers and a response of our own."""

    def __init__(
        self,
        status: int,
        detail: str,
        scim_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, status=status, scim_type=scim_type)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            doc["scimType"] = self.scim_type
        return doc

    def response(self) -> HttpResponse:
        response = HttpResponse(
            json.dumps(self.to_dict()), content_type=SCIM_CONTENT_TYPE, status=self.status
        )
        for name, value in self.headers.items():
            response[name] = value
        return response


def bad_request(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


def not_found(resource_type: str, resource_id: str) -> ScimError:
    return ScimError(404, f"{resource_type} {resource_id} not found")


def from_directory_error(e: directory_errors.DirectoryError) -> ScimError:
    """Map a service's error to the SCIM status and scimType an IdP understands."""
    if isinstance(e, directory_errors.Conflict):
        return ScimError(409, e.message, "uniqueness")
    if isinstance(e, directory_errors.NotFound):
        return ScimError(404, e.message)
    if isinstance(e, directory_errors.VersionMismatch):
        return ScimError(412, e.message)
    if isinstance(e, directory_errors.InvalidValue):
        return ScimError(400, e.message, "invalidValue")
    if isinstance(e, directory_errors.LimitReached):
        return ScimError(400, e.message, "tooMany")
    return ScimError(400, e.message, "invalidValue")
