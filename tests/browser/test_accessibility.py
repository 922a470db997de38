"""axe-core (npm, tests/idps/package.json) run in Chromium on every console page, in
light and dark mode and at a phone's width: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page

from directory.models import Org, ScimDirectory
from tests.browser.crowded_org import Crowded, crowd
from tests.browser.test_admin_walk import _sign_in
from tests.browser.test_layout import LAPTOP, PASSWORD, PHONE, console_pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[1] / "idps" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page) -> list[str]:
    """The serious and critical violations axe finds in the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
          const result = await axe.run(document, {resultTypes: ['violations']});
          return result.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
        }"""
    )
    return [f"{v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in found]


@pytest.fixture
def crowded(org: Org, directory: ScimDirectory, admin: User) -> Crowded:
    admin.set_password(PASSWORD)
    admin.save()
    return crowd(org, directory, admin)


@pytest.mark.parametrize(
    ("scheme", "viewport"),
    [("light", LAPTOP), ("dark", LAPTOP), ("light", PHONE)],
    ids=["light", "dark", "phone"],
)
def test_axe_finds_nothing_serious_on_any_console_page(
    browser: Browser,
    live_server: Any,
    settings: Any,
    org: Org,
    admin: User,
    crowded: Crowded,
    scheme: str,
    viewport: dict[str, int],
) -> None:
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        color_scheme=scheme,  # type: ignore[arg-type]
        base_url=live_server.url,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        problems: dict[str, list[str]] = {}
        page.goto("/accounts/login/")
        problems["Sign in"] = axe_violations(page)
        page.goto("/accounts/password-reset/")
        problems["Forgot password"] = axe_violations(page)
        _sign_in(page, admin.username, PASSWORD)
        page.wait_for_url("**/")
        for name, url in console_pages(org, crowded):
            page.goto(url)
            problems[name] = axe_violations(page)
        page.goto(f"/o/{org.slug}/users/")
        page.get_by_role("button", name="Add user").click()
        problems["Add user dialog"] = axe_violations(page)
        if viewport == PHONE:
            page.keyboard.press("Escape")
            page.get_by_role("button", name="Menu").click()
            problems["Open menu"] = axe_violations(page)
        assert {name: found for name, found in problems.items() if found} == {}
    finally:
        context.close()
