from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from directory.models import ScimDirectory

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimClient:
    """A Django test client speaking SCIM to one directory with one token."""

    def __init__(self, directory: ScimDirectory, token: str, user_agent: str = "pytest") -> None:
        self.base = f"/scim/v2/{directory.id}"
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_USER_AGENT=user_agent)

    def url(self, path: str) -> str:
        return path if path.startswith("/scim/") else self.base + path

    def get(self, path: str, data: dict[str, str] | None = None, **extra: Any) -> Any:
        return self.client.get(self.url(path), data, **extra)

    def _send(self, method: str, path: str, body: Any, content_type: str, **extra: Any) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(
            self.url(path), data=data, content_type=content_type, **extra
        )

    def post(self, path: str, body: Any, content_type: str = SCIM_JSON, **extra: Any) -> Any:
        return self._send("post", path, body, content_type, **extra)

    def put(self, path: str, body: Any, content_type: str = SCIM_JSON, **extra: Any) -> Any:
        return self._send("put", path, body, content_type, **extra)

    def patch(self, path: str, body: Any, content_type: str = SCIM_JSON, **extra: Any) -> Any:
        return self._send("patch", path, body, content_type, **extra)

    def patch_ops(self, path: str, *ops: dict[str, Any], **extra: Any) -> Any:
        return self.patch(path, {"schemas": [PATCH_OP], "Operations": list(ops)}, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self.client.delete(self.url(path), **extra)


@pytest.fixture
def scim(directory: ScimDirectory, token: str) -> ScimClient:
    return ScimClient(directory, token, user_agent="Okta SCIM Client 1.0.0")


@pytest.fixture
def other_scim(other_directory: ScimDirectory, other_token: str) -> ScimClient:
    return ScimClient(other_directory, other_token, user_agent="Azure AD SCIM Client")


def okta_user(
    user_name: str, given: str = "Ada", family: str = "Lovelace", **extra: Any
) -> dict[str, Any]:
    """A POST /Users body as Okta sends it (Okta's SCIM 2.0 reference request)."""
    body = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": "00u1abcd2EFGH3ijk4x7",
        "groups": [],
        "password": "aB3$xY9!",
        "active": True,
    }
    body.update(extra)
    return body


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body  # type: ignore[no-any-return]
