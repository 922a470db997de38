"""The site's error pages (commandcenter.urls names them as handler400/404/500).

SCIM clients get SCIM Error JSON even for errors Django raises before any SCIM view
runs (a Host header not in ALLOWED_HOSTS, say); everyone else gets Django's pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from scim.errors import ScimError


def _scim_error(request: HttpRequest, status: int, detail: str) -> HttpResponse | None:
    if not request.path.startswith("/scim/"):
        return None
    return ScimError(status, detail).response()


def error_400(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _scim_error(request, 400, "Bad request") or defaults.bad_request(request, exception)


def error_404(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _scim_error(request, 404, "Not found") or defaults.page_not_found(request, exception)


def error_500(request: HttpRequest) -> HttpResponse:
    return _scim_error(request, 500, "Internal error") or defaults.server_error(request)
