"""The Users table's selection in Chromium: select rows, see the count, act on them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from directory.models import EndUser, Org, Source
from tests.browser.test_admin_walk import _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_selects_users_and_frees_their_seats(page: Page, org: Org, admin: User) -> None:
    EndUser.objects.bulk_create(
        [
            EndUser(org=org, source=Source.MANUAL, user_name=f"u{i}@acme.example", has_seat=True)
            for i in range(3)
        ]
    )
    Org.objects.filter(pk=org.pk).update(seats_used=3)
    admin.set_password("select-rows-1")
    admin.save()
    _sign_in(page, admin.username, "select-rows-1")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/o/{org.slug}/users/?sort=user")
    free = page.get_by_role("button", name="Free seats")
    expect(free).to_be_disabled()
    expect(page.locator("#bulk-count")).to_have_text("No user selected")
    page.get_by_label("Select u0@acme.example").check()
    page.get_by_label("Select u2@acme.example").check()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    free.click()
    expect(page.get_by_text("2 seats freed.")).to_be_visible()
    assert page.url.endswith("/users/?sort=user")
    assert set(EndUser.objects.filter(has_seat=True).values_list("user_name", flat=True)) == {
        "u1@acme.example"
    }
    page.get_by_label("Select every user on this page").check()
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_text("3 users deleted permanently.")).to_be_visible()
    assert not EndUser.objects.filter(org=org).exists()
    assert errors == []
