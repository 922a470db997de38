"""The console speaks an admin's language: words instead of codes (the code kept in a
tooltip), branded error pages with a way back, a confirmation before a policy that
deletes users, the page back at the panel just saved, and one's own password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from directory.models import EndUser, Org
from directory.services import (
    UserFields,
    group_create,
    idp_configure,
    org_access_groups_set,
    scim_enable,
    user_create,
)
from tests.actors import OPERATOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def _text(html: str) -> str:
    """What a reader sees: the page without its tags, attributes (titles) included."""
    body = html.split("<main", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_codes_show_as_words_with_the_code_in_a_tooltip(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    scim_enable(org=org, actor=OPERATOR)
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)

    for url in ("/o/acme/users/", f"/o/acme/users/{ada.id}/", "/o/acme/settings/"):
        page = console.get(url).content.decode()
        assert "NOT_IN_ACCESS_GROUPS" not in _text(page), url
        assert 'title="' in page and "NOT_IN_ACCESS_GROUPS" in page, url  # in the tooltip
    assert "Not in access groups" in _text(console.get("/o/acme/users/").content.decode())

    audit = console.get("/o/acme/settings/audit/").content.decode()
    assert "Turned SCIM on" in _text(audit) and "Changed the access groups" in _text(audit)
    assert "scim.enable" not in _text(audit) and 'title="scim.enable"' in audit
    assert 'aria-label="Breadcrumb"><a href="/o/acme/settings/">Settings</a> › Audit log' in audit


def test_another_orgs_page_is_a_branded_404_with_a_way_back(
    console: Client, other_org: Org
) -> None:
    r = console.get("/o/globex/users/")
    assert r.status_code == 404
    page = r.content.decode()
    assert "Page not found" in page and "an org you do not administer" in page
    assert '<a href="/">Back to your orgs</a>' in page
    assert 'class="topbar"' in page  # the console's own header, not a bare page
    anonymous = Client().get("/no-such-page/").content.decode()
    assert "Go to the sign-in page" in anonymous
    # 403 and 500 render without a request (500 has no context at all).
    assert "Not allowed" in render_to_string("403.html")
    server_error = render_to_string("500.html")
    assert "Something went wrong" in server_error and 'href="/"' in server_error


def test_a_save_comes_back_to_the_panel_it_was_made_in(console: Client, org: Org) -> None:
    r = console.post("/o/acme/settings/summaries/", {})
    assert r["Location"] == "/o/acme/settings/#summary-title"
    r = console.post("/o/acme/settings/access/", {})
    assert r["Location"] == "/o/acme/settings/#access-title"
    r = console.post("/o/acme/settings/request-log/", {"retention_days": "0"})
    assert r["Location"] == "/o/acme/settings/#request-log-settings"


def test_a_policy_that_deletes_users_is_confirmed_before_it_is_saved(
    console: Client, org: Org
) -> None:
    old = user_create(org=org, fields=UserFields(user_name="old@acme.example"), actor=OPERATOR)
    EndUser.objects.filter(pk=old.pk).update(
        active=False, disabled_at=timezone.now() - timedelta(days=40)
    )

    r = console.post("/o/acme/settings/deprovisioning/", {"deprovision": "delete"})
    assert r.status_code == 200  # asked, not saved
    page = r.content.decode()
    assert 'id="confirm-deprovision" data-open-on-load' in page
    assert "A deleted user is gone for good" in page
    org.refresh_from_db()
    assert org.deprovision == "disable"

    r = console.post(
        "/o/acme/settings/deprovisioning/",
        {"deprovision": "disable-then-delete", "grace_days": "30"},
    )
    due = re.search(r'<p id="confirm-deprovision-due">(.*?)</p>', r.content.decode())
    assert due is not None
    assert "1 user disabled for longer than that will be deleted" in due.group(1)
    org.refresh_from_db()
    assert org.deprovision == "disable"

    r = console.post(
        "/o/acme/settings/deprovisioning/",
        {"deprovision": "disable-then-delete", "grace_days": "30", "confirmed": "on"},
    )
    assert r["Location"] == "/o/acme/settings/#deprovision-title"
    org.refresh_from_db()
    assert (org.deprovision, org.deprovision_grace_days) == ("disable-then-delete", 30)
    # A longer grace period deletes less: no question. A shorter one asks again.
    r = console.post(
        "/o/acme/settings/deprovisioning/",
        {"deprovision": "disable-then-delete", "grace_days": "60"},
    )
    assert r.status_code == 302
    r = console.post(
        "/o/acme/settings/deprovisioning/",
        {"deprovision": "disable-then-delete", "grace_days": "5"},
    )
    assert r.status_code == 200 and b"confirm-deprovision" in r.content
    assert (
        console.post("/o/acme/settings/deprovisioning/", {"deprovision": "disable"}).status_code
        == 302
    )


def test_a_wrong_password_is_called_so_under_the_email_field(admin: User) -> None:
    r = Client().post("/accounts/login/", {"username": admin.username, "password": "nope"})
    page = r.content.decode()
    assert "Wrong email or password." in page and "username" not in _text(page).lower()


def test_an_admin_changes_their_own_password(admin: User) -> None:
    admin.set_password("old-password-123")
    admin.save()
    browser = Client()
    assert browser.get("/account/password/")["Location"].startswith("/accounts/login/")
    browser.force_login(admin)
    assert 'href="/account/password/"' in browser.get("/account/api-keys/").content.decode()
    r = browser.post(
        "/account/password/",
        {
            "old_password": "wrong",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert r.status_code == 200 and b"incorrectly" in r.content
    r = browser.post(
        "/account/password/",
        {
            "old_password": "old-password-123",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
        follow=True,
    )
    assert b"Your password is changed." in r.content
    admin.refresh_from_db()
    assert admin.check_password("a-new-long-passphrase")
    assert browser.get("/account/api-keys/").status_code == 200  # still signed in here


def test_an_admin_of_no_org_reads_one_message(db: None) -> None:
    lonely = User.objects.create_user("nobody@acme.example", password="x")
    browser = Client()
    browser.force_login(lonely)
    page = _text(browser.get("/").content.decode())
    assert "You administer no org yet" in page and "choose one" not in page
