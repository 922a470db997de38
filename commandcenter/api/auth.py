"""Who calls the admin API: a personal API key (Bearer ccapi_…) or the console session."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from tokens.auth import api_key_authenticate, token_from_header
from tokens.models import AdminApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, AdminApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        raw = token_from_header(header)
        if not raw.startswith("ccapi_"):
            return None
        key = api_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not valid or was revoked.")
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="Command Center API"'


class ApiKeySchema(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A personal admin API key"}


class ReadOnlyKeysOnlyRead(permissions.BasePermission):
    """A read-only key may read; writing with it is 403."""

    message = "This API key is read-only."

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, AdminApiKey) and request.auth.read_only:
            return request.method in permissions.SAFE_METHODS
        return True


class PerKeyThrottle(throttling.SimpleRateThrottle):
    """Requests per minute per API key (or per signed-in admin for the console)."""

    scope = "api"

    def get_rate(self) -> str | None:
        # Read at request time (DRF reads it once at import), so deployments and tests
        # can change API_RATE without a restart of the class.
        from django.conf import settings

        rates: Any = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        return rates.get(self.scope)  # type: ignore[no-any-return]

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, AdminApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
