"""Directory sync in headless Chromium: an admin connects a real slapd, tests it, syncs
it, sees its users and groups, and then sees SCIM take one of them over."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from directory.models import Org, ScimDirectory
from tests.browser.test_admin_walk import _screenshot, _sign_in, _user
from tests.ldap_server import ADMIN_DN, ADMIN_PASSWORD, Tree

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_syncs_ldap_and_sees_scim_take_a_user_over(
    page: Page,
    admin: User,
    org: Org,
    directory: ScimDirectory,
    token: str,
    ldap_tree: Tree,
    live_server: Any,
    settings: Any,
) -> None:
    settings.OUTBOUND_ALLOW_PRIVATE = True  # slapd on 127.0.0.1 over plain ldap://
    grace = ldap_tree.add_user("grace", given="Grace", sn="Hopper", title="Rear Admiral")
    linus = ldap_tree.add_user("linus", given="Linus", sn="Torvalds")
    ldap_tree.add_user("ada", given="Ada", sn="Lovelace")
    ldap_tree.add_group("Navy", [grace, linus])

    admin.set_password("walk-the-ldap-1")
    admin.save()
    _sign_in(page, admin.username, "walk-the-ldap-1")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Set up directory sync").click()
    page.get_by_label("Server URL").fill(ldap_tree.server.url)
    page.get_by_label("Connection security").select_option("none")
    page.get_by_label("Bind DN").fill(ADMIN_DN)
    page.get_by_label("Bind password").fill(ADMIN_PASSWORD)
    page.get_by_label("User base DN").fill(ldap_tree.people)
    page.get_by_label("Group base DN").fill(ldap_tree.groups)
    page.get_by_role("button", name="Save directory sync").click()
    expect(page.get_by_text("Directory sync saved")).to_be_visible()

    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#ldap-test-result")
    expect(result).to_contain_text("The filters find 3 users and 1 group")
    expect(result).to_contain_text("grace@example.org")
    expect(result).to_contain_text("Rear Admiral")

    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_text("Synced: 3 created, 0 updated")).to_be_visible()
    expect(page.locator("#ldap-runs tbody tr")).to_have_count(1)
    _screenshot(page, "directory-sync.png")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("link", name="grace@example.org")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Groups").click()
    expect(page.get_by_role("link", name="Navy")).to_be_visible()

    with httpx.Client(
        base_url=f"{live_server.url}/scim/v2/{directory.id}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        timeout=20,
    ) as scim:
        r = scim.post("/Users", json=_user("grace@example.org"))
        assert r.status_code == 201
    assert org.users.filter(user_name="grace@example.org").count() == 1

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Events").click()
    expect(page.get_by_text("Taken over from LDAP by SCIM")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("link", name="grace@example.org")).to_have_count(1)
