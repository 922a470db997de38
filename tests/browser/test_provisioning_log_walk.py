"""From a failed event to the request that caused it and back, in headless Chromium,
with real SCIM calls to the live server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from directory.models import ScimDirectory
from tests.browser.test_admin_walk import _screenshot, _sign_in, _user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_walks_from_a_failed_event_to_its_request_and_back(
    page: Page, admin: User, directory: ScimDirectory, token: str, live_server: Any
) -> None:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/scim+json",
        "User-Agent": "Okta SCIM Client 1.0.0",
    }
    with httpx.Client(
        base_url=f"{live_server.url}/scim/v2/{directory.id}", headers=headers, timeout=20
    ) as scim:
        body = _user("grace@acme.example") | {"password": "s3cret-Passw0rd"}
        assert scim.post("/Users", json=body).status_code == 201
        assert scim.get("/Users", params={"filter": 'userName eq "linus@acme.example"'}).is_success
        assert scim.post("/Users", json=body).status_code == 409
    with httpx.Client(base_url=live_server.url, timeout=20) as anonymous:
        assert anonymous.get(f"/scim/v2/{directory.id}/Users").status_code == 401

    admin.set_password("walk-the-log-1")
    admin.save()
    _sign_in(page, admin.username, "walk-the-log-1")
    page.get_by_role("link", name="Events", exact=True).click()
    failed = page.get_by_role("row").filter(has_text="Failure")
    expect(failed).to_contain_text("already exists")
    failed.get_by_role("link", name="request").click()

    expect(page.get_by_role("heading", name="POST /scim/v2/")).to_be_visible()
    expect(page.locator("#request-reason")).to_contain_text("already exists")
    expect(page.locator("#request-body")).to_contain_text('"password": "***"')
    expect(page.locator("#request-body")).not_to_contain_text("s3cret")
    expect(page.locator("#request-events")).to_contain_text("Failure")

    page.get_by_role("link", name="Provisioning log").click()
    rows = page.locator("#scim-requests tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Authentication required")
    _screenshot(page, "provisioning-log.png")
    page.get_by_label("Status").select_option("2xx")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    rows.filter(has_text="201").get_by_role("link").click()
    page.locator("#request-resource").get_by_role("link", name="grace@acme.example").click()

    expect(page.get_by_role("heading", name="Grace Tester")).to_be_visible()
    page.get_by_role("link", name="SCIM requests about this user").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("POST")
    page.go_back()
    page.get_by_role("row").filter(has_text="Create user").get_by_role(
        "link", name="request"
    ).click()
    expect(page.locator("#request-events")).to_contain_text("Create user")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.locator("#scim-health")).to_contain_text("Authentication required")
    page.get_by_label("Mask names, emails, phone numbers and addresses too").check()
    page.get_by_role("button", name="Save log settings").click()
    expect(page.get_by_text("with personal data masked")).to_be_visible()
