"""Every console page fits its viewport, at a phone's width and a laptop's, in an org of
20,000 users whose longest values have no space to break at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from directory.models import Org, ScimDirectory
from tests.browser.crowded_org import Crowded, crowd
from tests.browser.test_admin_walk import _screenshot, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
PASSWORD = "fit-the-screen-1"


def console_pages(org: Org, crowded: Crowded) -> list[tuple[str, str]]:
    o = f"/o/{org.slug}"
    return [
        ("Overview", f"{o}/"),
        ("Users", f"{o}/users/"),
        ("Users, last page", f"{o}/users/?page=last"),
        ("User", f"{o}/users/{crowded.long_user.id}/"),
        ("Groups", f"{o}/groups/"),
        ("Group", f"{o}/groups/{crowded.long_group.id}/"),
        ("Events", f"{o}/events/"),
        ("Settings", f"{o}/settings/"),
        ("Provisioning log", f"{o}/settings/scim/requests/"),
        ("Request", f"{o}/settings/scim/requests/{crowded.request.id}/"),
        ("Audit log", f"{o}/settings/audit/"),
        ("Admin sign-in", f"{o}/settings/admin/"),
        ("Directory sync", f"{o}/settings/directory-sync/"),
        ("Webhooks", f"{o}/settings/webhooks/"),
        ("Webhook endpoint", f"{o}/settings/webhooks/{crowded.endpoint.id}/"),
        ("API keys", "/account/api-keys/"),
        ("Change password", "/account/password/"),
        ("Set up a second factor", "/account/mfa/setup/"),
        ("Your orgs", "/"),
        ("Not found", "/o/no-such-org/"),
    ]


@pytest.fixture
def crowded(org: Org, directory: ScimDirectory, admin: User) -> Crowded:
    admin.set_password(PASSWORD)
    admin.save()
    return crowd(org, directory, admin)


@pytest.fixture(params=[PHONE, LAPTOP], ids=["phone", "laptop"])
def viewport_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: Any, settings: Any
) -> Iterator[Page]:
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    context = browser.new_context(viewport=request.param, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def overflow(page: Page) -> dict[str, Any]:
    """How much wider than the viewport the page is, and the widest elements to blame."""
    result: dict[str, Any] = page.evaluate(
        """() => {
          const w = window.innerWidth;
          const culprits = [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > w + 1 || el.scrollWidth > w + 1)
            .filter((el) => !el.closest('dialog:not([open]), .tablebox > *, .chartbox > *'))
            .slice(0, 8)
            .map((el) => `${el.tagName}#${el.id}.${el.className} ${el.scrollWidth}`);
          return {scroll: document.documentElement.scrollWidth, inner: w, culprits};
        }"""
    )
    return result


def test_no_console_page_is_wider_than_the_screen(
    viewport_page: Page, org: Org, admin: User, crowded: Crowded
) -> None:
    page = viewport_page
    page.goto("/accounts/login/")
    assert overflow(page)["scroll"] <= overflow(page)["inner"], overflow(page)
    _sign_in(page, admin.username, PASSWORD)
    expect(page.get_by_role("heading", name="Your orgs")).to_be_visible()
    for name, url in console_pages(org, crowded):
        page.goto(url)
        fit = overflow(page)
        assert fit["scroll"] <= fit["inner"], (name, fit)
    if page.viewport_size == PHONE:
        page.goto(f"/o/{org.slug}/users/")
        _screenshot(page, "users-phone.png", full_page=False)
        page.get_by_role("button", name="Menu").click()
        _screenshot(page, "menu-phone.png", full_page=False)


def test_the_menu_collapses_at_phone_width_and_opens_on_demand(
    viewport_page: Page, org: Org, admin: User, crowded: Crowded
) -> None:
    page = viewport_page
    _sign_in(page, admin.username, PASSWORD)
    page.goto(f"/o/{org.slug}/")
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    if page.viewport_size == PHONE:
        expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        nav.get_by_role("link", name="Events").click()
        expect(page.get_by_role("heading", name="Events")).to_be_visible()
        menu.click()
        page.get_by_role("button", name="Sign out").click()
    else:
        expect(menu).to_be_hidden()
        expect(nav.get_by_role("link", name="Settings")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_cut_value_shows_in_full_on_hover(
    viewport_page: Page, org: Org, admin: User, crowded: Crowded
) -> None:
    page = viewport_page
    _sign_in(page, admin.username, PASSWORD)
    page.goto(f"/o/{org.slug}/users/?q={crowded.long_user.user_name[:30]}")
    link = page.get_by_role("link", name=crowded.long_user.user_name)
    expect(link).to_have_attribute("title", crowded.long_user.user_name)


def test_the_console_follows_the_systems_dark_mode(
    browser: Browser, live_server: Any, org: Org, admin: User
) -> None:
    admin.set_password(PASSWORD)
    admin.save()
    backgrounds = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme, base_url=live_server.url)
        page = context.new_page()
        _sign_in(page, admin.username, PASSWORD)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        backgrounds[scheme] = page.evaluate(
            "[document.documentElement, document.querySelector('.card')].map("
            "(el) => getComputedStyle(el).backgroundColor)"
        )
        context.close()
    assert backgrounds["light"] == ["rgb(245, 246, 248)", "rgb(255, 255, 255)"]
    assert backgrounds["dark"] == ["rgb(14, 20, 32)", "rgb(22, 30, 44)"]
