"""SCIM requests take a short path past the console's middleware, and lose nothing by it."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from directory.models import Org, ScimDirectory
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user


def test_scim_answers_carry_security_headers_but_no_cookies(scim: ScimClient) -> None:
    r = scim.post("/Users", okta_user("ada@acme.example"))
    assert r.status_code == 201
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert int(r["Content-Length"]) == len(r.content)
    assert not r.cookies
    assert "Cookie" not in r.get("Vary", "")


def test_the_console_keeps_its_middleware(client: Client) -> None:
    r = client.get("/accounts/login/")
    assert r.status_code == 200
    assert r["X-Frame-Options"] == "DENY"
    assert "csrftoken" in r.cookies


def test_a_console_session_is_no_scim_credential(
    client: Client, admin: User, org: Org, directory: ScimDirectory
) -> None:
    client.force_login(admin)
    assert client.get(f"/o/{org.slug}/users/").status_code == 200
    assert_scim_error(client.get(f"/scim/v2/{directory.id}/Users"), 401)


def test_scim_requests_still_need_an_allowed_host(directory: ScimDirectory, token: str) -> None:
    r = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(
        f"/scim/v2/{directory.id}/Users", HTTP_HOST="evil.example"
    )
    assert r.status_code == 400
