from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from directory.models import Org, ScimDirectory
from directory.services import (
    UserFields,
    event_record,
    group_create,
    idp_configure,
    scim_enable,
    user_create,
)
from tokens.models import ScimToken
from tokens.services import token_issue


@pytest.fixture
def console(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def intruder(other_admin: User) -> Client:
    client = Client()
    client.force_login(other_admin)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(org: Org) -> None:
    for url in ("/", "/o/acme/users/", "/o/acme/settings/", "/o/acme/events/"):
        r = Client().get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_sign_in_with_email_and_password(org: Org, admin: User) -> None:
    admin.set_password("correct horse battery")
    admin.save()
    client = Client()
    r = client.post(
        "/accounts/login/", {"username": admin.username, "password": "correct horse battery"}
    )
    assert r.status_code == 302
    assert client.get("/", follow=True).request["PATH_INFO"] == "/o/acme/users/"


def test_password_reset_sends_a_link(org: Org, admin: User) -> None:
    Client().post("/accounts/password-reset/", {"email": "alice@acme.example"})
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_an_admin_of_two_orgs_can_switch(org: Org, other_org: Org, admin: User) -> None:
    from directory.services import org_admin_add

    org_admin_add(org=other_org, email=admin.username)
    client = Client()
    client.force_login(admin)
    home = client.get("/")
    assert home.status_code == 200 and b"Globex" in home.content and b"Acme Corp" in home.content
    page = client.get("/o/globex/users/")
    assert b'value="/o/globex/users/" selected' in page.content


def test_enabling_scim_is_refused_without_a_saved_idp(console: Client, org: Org) -> None:
    page = console.get("/o/acme/settings/").content.decode()
    assert "Configure and save the org&#x27;s end-user identity provider" in page
    r = console.post("/o/acme/settings/scim/", {"enabled": "on"}, follow=True)
    assert b"Configure and save" in r.content
    assert not ScimDirectory.objects.exists()


def test_okta_over_oidc_must_be_converted_to_saml(console: Client, org: Org) -> None:
    console.post("/o/acme/settings/idp/", {"provider": "okta", "protocol": "oidc"})
    r = console.post("/o/acme/settings/scim/", {"enabled": "on"}, follow=True)
    assert b"convert the connection to SAML first" in r.content
    console.post("/o/acme/settings/idp/", {"provider": "okta", "protocol": "saml"})
    r = console.post("/o/acme/settings/scim/", {"enabled": "on"}, follow=True)
    assert b"SCIM provisioning is on" in r.content
    directory = ScimDirectory.objects.get()
    assert directory.base_url.encode() in r.content


def test_a_token_is_shown_once_and_the_third_is_refused(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml")
    scim_enable(org=org)
    r = console.post("/o/acme/settings/tokens/", {"name": "Okta prod"})
    token = re.search(
        r'id="new-token-value" type="text" readonly value="([^"]+)"', r.content.decode()
    )
    assert token is not None and token.group(1).startswith("ccscim_")
    assert r["Cache-Control"] == "no-store"
    assert token.group(1).encode() not in console.get("/o/acme/settings/").content
    console.post("/o/acme/settings/tokens/", {"name": "Entra"})
    page = console.get("/o/acme/settings/").content.decode()
    assert "At most 2 tokens can be active at once" in page
    assert re.search(r'id="generate-token" disabled', page)
    r = console.post("/o/acme/settings/tokens/", {"name": "third"}, follow=True)
    assert b"at most 2 active API tokens" in r.content
    assert ScimToken.objects.filter(revoked_at__isnull=True).count() == 2


def test_revoking_a_token(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml")
    directory = scim_enable(org=org)
    issued = token_issue(directory=directory)
    r = console.post(f"/o/acme/settings/tokens/{issued.token.id}/revoke/", follow=True)
    assert b"is revoked" in r.content
    assert ScimToken.objects.get().revoked_at is not None


def test_deprovisioning_and_summary_preferences(console: Client, org: Org, admin: User) -> None:
    idp_configure(org=org, provider="okta", protocol="saml")
    scim_enable(org=org)
    console.post("/o/acme/settings/deprovisioning/", {"deprovision": "delete"})
    assert ScimDirectory.objects.get().deprovision == "delete"
    console.post("/o/acme/settings/summaries/", {})
    assert org.admins.get().summary_emails is False
    console.post("/o/acme/settings/summaries/", {"summary_emails": "on"})
    assert org.admins.get().summary_emails is True


def test_deleting_the_directory_needs_the_slug_and_keeps_users(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml")
    directory = scim_enable(org=org)
    user_create(
        org=org,
        fields=UserFields(user_name="keep@acme.example"),
        directory=directory,
        source="scim",
    )
    r = console.post("/o/acme/settings/scim/delete/", {"confirm": "wrong"})
    assert b"Type acme to confirm" in r.content
    assert ScimDirectory.objects.get().deleted_at is None
    console.post("/o/acme/settings/scim/delete/", {"confirm": "acme"})
    assert ScimDirectory.objects.get().deleted_at is not None
    assert org.users.get().source == "manual"


def test_users_list_search_filters_and_detail(console: Client, org: Org) -> None:
    ada = user_create(
        org=org, fields=UserFields(user_name="ada@acme.example", given_name="Ada", active=True)
    )
    user_create(org=org, fields=UserFields(user_name="bob@acme.example", active=False))
    group = group_create(org=org, display_name="Engineering", member_ids=[str(ada.id)])
    page = console.get("/o/acme/users/?q=ad").content.decode()
    assert "ada@acme.example" in page and "bob@acme.example" not in page
    page = console.get("/o/acme/users/?status=disabled").content.decode()
    assert "bob@acme.example" in page and "ada@acme.example" not in page
    page = console.get(f"/o/acme/users/?group={group.id}").content.decode()
    assert "ada@acme.example" in page and "bob@acme.example" not in page
    detail = console.get(f"/o/acme/users/{ada.id}/").content.decode()
    assert "Engineering" in detail and "Delete permanently" in detail
    assert console.get("/o/acme/groups/").status_code == 200
    assert "ada@acme.example" in console.get(f"/o/acme/groups/{group.id}/").content.decode()


def test_deleting_a_user_permanently_frees_the_seat(console: Client, org: Org) -> None:
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"))
    r = console.post(f"/o/acme/users/{ada.id}/delete/", follow=True)
    assert b"deleted permanently" in r.content
    org.refresh_from_db()
    assert org.users.count() == 0 and org.seats_used == 0


def test_events_page_filters_and_shows_failures(console: Client, org: Org) -> None:
    event_record(
        org=org,
        action="user_create",
        outcome="failure",
        resource_name="x@acme.example",
        message="A user with userName 'x' already exists",
        status_code=409,
    )
    event_record(org=org, action="user_create", outcome="success", resource_name="y@acme.example")
    page = console.get("/o/acme/events/?outcome=failure").content.decode()
    assert "already exists" in page and "y@acme.example" not in page and "row-bad" in page
    assert console.get("/o/acme/events/?from=2026-01-01T00:00&to=garbage").status_code == 200


def test_the_users_page_costs_the_same_queries_for_5_or_50_users(
    console: Client, org: Org, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        user_create(org=org, fields=UserFields(user_name=f"u{i}@acme.example"))
    with django_assert_max_num_queries(9) as small:
        console.get("/o/acme/users/")
    for i in range(5, 50):
        user_create(org=org, fields=UserFields(user_name=f"u{i}@acme.example"))
    with django_assert_max_num_queries(len(small.captured_queries)):
        console.get("/o/acme/users/")


def test_another_orgs_admin_sees_and_changes_nothing(intruder: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml")
    directory = scim_enable(org=org)
    issued = token_issue(directory=directory)
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"))
    group = group_create(org=org, display_name="Engineering")
    gets = [
        "/o/acme/users/", f"/o/acme/users/{ada.id}/", "/o/acme/groups/",
        f"/o/acme/groups/{group.id}/", "/o/acme/events/", "/o/acme/settings/",
    ]  # fmt: skip
    for url in gets:
        assert intruder.get(url).status_code == 404, url
    posts = {
        f"/o/acme/users/{ada.id}/delete/": {},
        f"/o/acme/users/{ada.id}/seat/": {"seat": "revoke"},
        "/o/acme/settings/idp/": {"provider": "other", "protocol": "oidc"},
        "/o/acme/settings/scim/": {},
        "/o/acme/settings/tokens/": {"name": "stolen"},
        f"/o/acme/settings/tokens/{issued.token.id}/revoke/": {},
        "/o/acme/settings/deprovisioning/": {"deprovision": "delete"},
        "/o/acme/settings/summaries/": {},
        "/o/acme/settings/scim/delete/": {"confirm": "acme"},
    }
    for url, data in posts.items():
        assert intruder.post(url, data).status_code == 404, url
    directory.refresh_from_db()
    assert directory.enabled and directory.deleted_at is None and directory.deprovision == "disable"
    assert directory.tokens.filter(revoked_at__isnull=True).count() == 1
    assert org.users.filter(pk=ada.pk, has_seat=True).exists()
    assert org.idp.provider == "okta"


def test_admins_add_users_and_groups_by_hand(console: Client, org: Org) -> None:
    r = console.post(
        "/o/acme/users/new/",
        {"user_name": "manual@acme.example", "given_name": "Man", "family_name": "Ual"},
        follow=True,
    )
    assert b"manual@acme.example was added" in r.content
    user = org.users.get()
    assert user.source == "manual" and user.has_seat
    r = console.post("/o/acme/users/new/", {"user_name": "MANUAL@acme.example"}, follow=True)
    assert b"already exists" in r.content
    r = console.post("/o/acme/groups/new/", {"display_name": "Contractors"}, follow=True)
    assert b"Group Contractors was added" in r.content
    assert org.groups.get().source == "manual"


def test_access_groups_and_the_name_rule_from_the_console(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml")
    directory = scim_enable(org=org)
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"))
    group_create(org=org, display_name="Engineering")
    r = console.post(
        "/o/acme/settings/access/",
        {"access_groups": ["Engineering"], "reject_special_characters": "on"},
        follow=True,
    )
    assert b"Access is limited to members of Engineering" in r.content
    directory.refresh_from_db()
    assert directory.reject_special_characters
    ada.refresh_from_db()
    assert ada.access == "NOT_IN_ACCESS_GROUPS"
    page = console.get("/o/acme/users/?seat=access").content.decode()
    assert "ada@acme.example" in page and "NOT_IN_ACCESS_GROUPS" in page
    console.post("/o/acme/settings/access/", {})
    ada.refresh_from_db()
    assert ada.access == ""


def test_manual_creation_and_access_settings_are_scoped_to_the_org(
    intruder: Client, org: Org
) -> None:
    idp_configure(org=org, provider="okta", protocol="saml")
    scim_enable(org=org)
    assert intruder.post("/o/acme/users/new/", {"user_name": "x@y.example"}).status_code == 404
    assert intruder.post("/o/acme/groups/new/", {"display_name": "X"}).status_code == 404
    assert intruder.post("/o/acme/settings/access/", {}).status_code == 404
    assert org.users.count() == 0 and org.groups.count() == 0


def test_repeated_wrong_passwords_lock_the_account_for_a_while(org: Org, admin: User) -> None:
    admin.set_password("the right one 123")
    admin.save()
    client = Client()
    for _ in range(4):
        r = client.post("/accounts/login/", {"username": admin.username, "password": "wrong"})
        assert r.status_code == 200 and b"Sign in" in r.content
    fifth = client.post("/accounts/login/", {"username": admin.username, "password": "wrong"})
    assert fifth.status_code == 429
    locked = client.post(
        "/accounts/login/", {"username": admin.username, "password": "the right one 123"}
    )
    assert locked.status_code == 429 and b"Too many sign-in attempts" in locked.content
    # Another account from the same address is not locked out.
    other = User.objects.create_user("carol@acme.example", password="carols password 1")
    r = client.post(
        "/accounts/login/", {"username": other.username, "password": "carols password 1"}
    )
    assert r.status_code == 302
