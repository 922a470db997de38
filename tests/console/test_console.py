from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from directory import selectors
from directory.models import Org, ScimDirectory
from directory.services import (
    UserFields,
    event_record,
    group_create,
    idp_configure,
    org_admin_add,
    scim_enable,
    user_create,
    user_deprovision,
)
from tests.actors import OPERATOR
from tests.idp_metadata import OKTA_SSO_URL, okta_metadata
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


@pytest.fixture
def world(org: Org) -> dict[str, Any]:
    """Acme with an IdP, a live SCIM directory, a token, a user with a seat and a group:
    every console page and action of Acme, with data for each POST."""
    idp_configure(
        org=org, provider="okta", protocol="saml", metadata_xml=okta_metadata(), actor=OPERATOR
    )
    directory = scim_enable(org=org, actor=OPERATOR)
    issued = token_issue(directory=directory)
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    group = group_create(
        org=org, display_name="Engineering", member_ids=[str(ada.id)], actor=OPERATOR
    )
    gets = [
        "/o/acme/", "/o/acme/users/", f"/o/acme/users/{ada.id}/", "/o/acme/groups/",
        f"/o/acme/groups/{group.id}/", "/o/acme/events/", "/o/acme/settings/",
        "/o/acme/settings/audit/",
    ]  # fmt: skip
    posts = {
        "/o/acme/users/new/": {"user_name": "x@acme.example"},
        f"/o/acme/users/{ada.id}/delete/": {},
        f"/o/acme/users/{ada.id}/seat/": {"seat": "revoke"},
        "/o/acme/groups/new/": {"display_name": "Stolen"},
        "/o/acme/settings/idp/": {"provider": "other", "protocol": "oidc",
                                  "issuer": "https://evil.example", "client_id": "x"},
        "/o/acme/settings/scim/": {},
        "/o/acme/settings/tokens/": {"name": "stolen"},
        f"/o/acme/settings/tokens/{issued.token.id}/revoke/": {},
        "/o/acme/settings/deprovisioning/": {"deprovision": "delete"},
        "/o/acme/settings/summaries/": {},
        "/o/acme/settings/access/": {"access_groups": ["Engineering"]},
        "/o/acme/settings/scim/name-rule/": {"reject_special_characters": "on"},
        "/o/acme/settings/scim/delete/": {"confirm": "acme"},
    }  # fmt: skip
    return {"directory": directory, "ada": ada, "group": group, "gets": gets, "posts": posts}


def _assert_unchanged(world: dict[str, Any], org: Org) -> None:
    directory = world["directory"]
    directory.refresh_from_db()
    assert directory.enabled and directory.deleted_at is None
    assert not directory.reject_special_characters
    org.refresh_from_db()
    assert org.deprovision == "disable" and not org.access_groups.exists()
    assert directory.tokens.filter(revoked_at__isnull=True).count() == 1
    assert list(org.users.values_list("user_name", "has_seat", "access")) == [
        ("ada@acme.example", True, "")
    ]
    assert list(org.groups.values_list("display_name", flat=True)) == ["Engineering"]
    assert org.idp.provider == "okta" and not org.admins.filter(summary_emails=False).exists()


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(
    world: dict[str, Any], org: Org
) -> None:
    anonymous = Client()
    for url in ["/", *world["gets"]]:
        r = anonymous.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url
    for url, data in world["posts"].items():
        r = anonymous.post(url, data)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url
    _assert_unchanged(world, org)


def test_sign_in_with_email_and_password(org: Org, admin: User) -> None:
    admin.set_password("correct horse battery")
    admin.save()
    client = Client()
    r = client.post(
        "/accounts/login/", {"username": admin.username, "password": "correct horse battery"}
    )
    assert r.status_code == 302
    assert client.get("/", follow=True).request["PATH_INFO"] == "/o/acme/"


def test_password_reset_sends_a_link_that_sets_a_new_password(org: Org, admin: User) -> None:
    client = Client()
    r = client.post("/accounts/password-reset/", {"email": "alice@acme.example"}, follow=True)
    assert b"Check your email" in r.content
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@acme.example"]
    assert mail.outbox[0].subject == "Reset your Command Center password"
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert b"Choose a new password" in form.content
    r = client.post(
        form.request["PATH_INFO"],
        {"new_password1": "a new long passphrase 7", "new_password2": "a new long passphrase 7"},
        follow=True,
    )
    assert b"Password set" in r.content
    signed_in = Client().post(
        "/accounts/login/", {"username": admin.username, "password": "a new long passphrase 7"}
    )
    assert signed_in.status_code == 302
    Client().post("/accounts/password-reset/", {"email": "nobody@acme.example"})
    assert len(mail.outbox) == 1


def test_signing_out_takes_a_post(org: Org, admin: User) -> None:
    client = Client()
    client.force_login(admin)
    assert client.get("/accounts/logout/").status_code == 405
    page = client.get("/o/acme/users/").content.decode()
    assert re.search(r'<form method="post" action="/accounts/logout/">', page)
    r = client.post("/accounts/logout/")
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert client.get("/o/acme/users/").status_code == 302


def test_an_admin_of_two_orgs_can_switch(org: Org, other_org: Org, admin: User) -> None:
    org_admin_add(org=other_org, email=admin.username)
    client = Client()
    client.force_login(admin)
    home = client.get("/")
    assert home.status_code == 200 and b"Globex" in home.content and b"Acme Corp" in home.content
    page = client.get("/o/globex/users/").content.decode()
    assert 'href="/o/acme/"' in page
    assert 'href="/o/globex/" aria-current="true"' in page
    single = Client()
    single.force_login(User.objects.create_user("solo@acme.example"))
    org_admin_add(org=org, email="solo@acme.example")
    assert 'class="orgmenu"' not in single.get("/o/acme/users/").content.decode()


def test_enabling_scim_is_refused_without_a_saved_idp(console: Client, org: Org) -> None:
    page = console.get("/o/acme/settings/").content.decode()
    assert "Configure and save the org&#x27;s end-user identity provider" in page
    r = console.post("/o/acme/settings/scim/", {"enabled": "on"}, follow=True)
    assert b"Configure and save" in r.content
    assert not ScimDirectory.objects.exists()


def test_okta_over_oidc_must_be_converted_to_saml(console: Client, org: Org) -> None:
    oidc = {"issuer": "https://acme.okta.example", "client_id": "0oa1"}
    console.post("/o/acme/settings/idp/", {"provider": "okta", "protocol": "oidc", **oidc})
    page = console.get("/o/acme/settings/").content.decode()
    assert "convert your OIDC connection to SAML" in page
    assert re.search(r'role="switch" aria-checked="false"[^>]*disabled', page)
    r = console.post("/o/acme/settings/scim/", {"enabled": "on"}, follow=True)
    assert b"convert the connection to SAML first" in r.content
    assert not ScimDirectory.objects.exists()
    metadata = SimpleUploadedFile("metadata.xml", okta_metadata().encode())
    console.post(
        "/o/acme/settings/idp/", {"provider": "okta", "protocol": "saml", "metadata_file": metadata}
    )
    r = console.post("/o/acme/settings/scim/", {"enabled": "on"}, follow=True)
    assert b"SCIM provisioning is on" in r.content
    directory = ScimDirectory.objects.get()
    assert directory.base_url.encode() in r.content
    assert b'role="switch" aria-checked="true"' in r.content


def test_the_console_saves_an_idp_as_the_cli_does(console: Client, org: Org) -> None:
    # A provider and a protocol alone are a saved IdP (the CLI, the API and `demo` save
    # them so): the console saves them too, and saves again what they saved.
    call_command("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
                 stdout=StringIO())  # fmt: skip
    r = console.post("/o/acme/settings/idp/", {"provider": "okta", "protocol": "saml"}, follow=True)
    assert b"was not saved" not in r.content
    org.refresh_from_db()
    assert (org.idp.provider, org.idp.protocol) == ("okta", "saml")
    console.post(
        "/o/acme/settings/idp/",
        {"provider": "entra", "protocol": "oidc", "issuer": "https://login.example/t/v2.0",
         "client_id": "abc", "sso_url": "https://stale.example/sso"},
    )  # fmt: skip
    org.refresh_from_db()
    assert (org.idp.provider, org.idp.issuer, org.idp.sso_url) == (
        "entra", "https://login.example/t/v2.0", ""
    )  # fmt: skip
    r = console.post(
        "/o/acme/settings/idp/",
        {"provider": "nope", "protocol": "saml", "sso_url": "https://x.example"},
    )
    assert b"Select a valid choice" in r.content


def test_switching_protocol_drops_the_other_protocols_settings_everywhere(org: Org) -> None:
    idp_configure(org=org, provider="entra", protocol="oidc", issuer="https://i.example",
                  client_id="abc", actor=OPERATOR)  # fmt: skip
    org.refresh_from_db()
    assert (org.idp.issuer, org.idp.sso_url) == ("https://i.example", "")
    idp_configure(
        org=org, provider="okta", protocol="saml", metadata_xml=okta_metadata(), actor=OPERATOR
    )
    org.refresh_from_db()
    assert (org.idp.sso_url, org.idp.issuer, org.idp.client_id) == (OKTA_SSO_URL, "", "")


def test_scim_can_be_switched_off_and_on_again(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="other", protocol="saml", actor=OPERATOR)
    directory = scim_enable(org=org, actor=OPERATOR)
    r = console.post("/o/acme/settings/scim/", {}, follow=True)
    assert b"SCIM provisioning is off" in r.content
    directory.refresh_from_db()
    assert not directory.enabled
    console.post("/o/acme/settings/scim/", {"enabled": "on"})
    directory.refresh_from_db()
    assert directory.enabled and ScimDirectory.objects.count() == 1


def test_a_token_is_shown_once_and_the_third_is_refused(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    scim_enable(org=org, actor=OPERATOR)
    r = console.post("/o/acme/settings/tokens/", {"name": "Okta prod"})
    token = re.search(
        r'id="new-token-value" type="text" readonly value="([^"]+)"', r.content.decode()
    )
    assert token is not None and token.group(1).startswith("ccscim_")
    assert r["Cache-Control"] == "no-store"
    page = r.content.decode()
    assert page.count(token.group(1)) == 2  # the token, and the header ready for Okta
    assert f'value="Bearer {token.group(1)}"' in page and "cannot be viewed again" in page
    assert token.group(1) not in repr(dict(console.session.items()))
    assert token.group(1).encode() not in console.get("/o/acme/settings/").content
    assert not ScimToken.objects.filter(digest__contains=token.group(1)[8:20]).exists()
    console.post("/o/acme/settings/tokens/", {"name": "Entra"})
    page = console.get("/o/acme/settings/").content.decode()
    assert "At most 2 tokens can be active at once" in page
    assert re.search(r'id="generate-token" disabled', page)
    r = console.post("/o/acme/settings/tokens/", {"name": "third"}, follow=True)
    assert b"at most 2 active API tokens" in r.content
    assert ScimToken.objects.filter(revoked_at__isnull=True).count() == 2


def test_revoking_a_token(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    directory = scim_enable(org=org, actor=OPERATOR)
    issued = token_issue(directory=directory)
    r = console.post(f"/o/acme/settings/tokens/{issued.token.id}/revoke/", follow=True)
    assert b"is revoked" in r.content
    assert ScimToken.objects.get().revoked_at is not None


def test_deprovisioning_and_summary_preferences(console: Client, org: Org, admin: User) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    scim_enable(org=org, actor=OPERATOR)
    console.post("/o/acme/settings/deprovisioning/", {"deprovision": "delete", "confirmed": "on"})
    org.refresh_from_db()
    assert org.deprovision == "delete"
    console.post("/o/acme/settings/summaries/", {})
    assert org.admins.get().summary_emails is False
    console.post("/o/acme/settings/summaries/", {"summary_emails": "on"})
    assert org.admins.get().summary_emails is True


def test_deleting_the_directory_needs_the_slug_and_keeps_users(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    directory = scim_enable(org=org, actor=OPERATOR)
    user_create(
        org=org,
        fields=UserFields(user_name="keep@acme.example"),
        directory=directory,
        source="scim",
        actor=OPERATOR,
    )
    r = console.post("/o/acme/settings/scim/delete/", {"confirm": "wrong"})
    assert b"Type acme to confirm" in r.content
    assert ScimDirectory.objects.get().deleted_at is None
    console.post("/o/acme/settings/scim/delete/", {"confirm": "acme"})
    assert ScimDirectory.objects.get().deleted_at is not None
    assert org.users.get().source == "manual"


def test_users_list_search_filters_and_detail(console: Client, org: Org) -> None:
    ada = user_create(
        org=org,
        fields=UserFields(
            user_name="ada@acme.example",
            given_name="Ada",
            family_name="Lovelace",
            title="Analyst",
            department="Engines",
            cost_center="CC-42",
            division="R&D",
            employee_number="E-1",
            emails=[{"value": "ada@acme.example", "type": "work", "primary": True},
                    {"value": "countess@home.example", "type": "home"}],
            phone_numbers=[{"value": "+44 20 7946 0000", "type": "work"}],
        ), actor=OPERATOR,
    )  # fmt: skip
    user_create(
        org=org, fields=UserFields(user_name="bob@acme.example", active=False), actor=OPERATOR
    )
    user_create(
        org=org, fields=UserFields(user_name="jit@acme.example"), source="jit", actor=OPERATOR
    )
    group = group_create(
        org=org, display_name="Engineering", member_ids=[str(ada.id)], actor=OPERATOR
    )

    def listed(query: str) -> set[str]:
        page = console.get(f"/o/acme/users/?{query}").content.decode()
        return set(re.findall(r'/users/[0-9a-f-]{36}/">(\w+)@acme\.example</a>', page))

    assert listed("") == {"ada", "bob", "jit"}
    assert listed("q=AD") == {"ada"}
    assert listed("q=countess") == {"ada"}  # any email, not only the userName
    assert listed("q=love") == {"ada"}
    assert listed("q=da") == {"ada"}  # any part, not only the start
    assert listed("status=disabled") == {"bob"}
    assert listed("status=active") == {"ada", "jit"}
    assert listed("source=jit") == {"jit"}
    assert listed(f"group={group.id}") == {"ada"}
    assert listed("group=not-a-uuid") == set()
    assert listed("seat=none") == set()  # 10 seats: everyone active has one
    detail = console.get(f"/o/acme/users/{ada.id}/").content.decode()
    for text in ("Engineering", "Analyst", "Engines", "CC-42", "R&amp;D", "E-1",
                 "countess@home.example", "+44 20 7946 0000", "Has a seat", "Manual",
                 "Delete permanently"):  # fmt: skip
        assert text in detail, text
    assert console.get("/o/acme/users/not-a-uuid/").status_code == 404


def test_a_user_the_idp_removed_shows_as_removed_by_the_idp(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    directory = scim_enable(org=org, actor=OPERATOR)
    gone = user_create(
        org=org,
        fields=UserFields(user_name="gone@acme.example"),
        directory=directory,
        source="scim",
        actor=OPERATOR,
    )
    user_deprovision(user=gone, directory=directory, actor=OPERATOR)
    assert "Removed by IdP" in console.get("/o/acme/users/?status=removed").content.decode()
    detail = console.get(f"/o/acme/users/{gone.id}/").content.decode()
    assert "Disabled: removed by the IdP on" in detail
    assert "kept as disabled" in detail  # its events are on its page


def test_the_users_list_pages_through_many_users(console: Client, org: Org) -> None:
    for i in range(60):
        user_create(org=org, fields=UserFields(user_name=f"u{i:02d}@acme.example"), actor=OPERATOR)
    first = console.get("/o/acme/users/?status=active").content.decode()
    assert "60 in all" in first and 'max="2" value="1"' in first and "u59@acme.example" in first
    assert 'href="?status=active&amp;page=2"' in first
    second = console.get("/o/acme/users/?status=active&page=2").content.decode()
    assert "u00@acme.example" in second and "u59@acme.example" not in second


def test_groups_show_member_counts_and_members(console: Client, org: Org) -> None:
    users = [
        user_create(org=org, fields=UserFields(user_name=f"m{i}@acme.example"), actor=OPERATOR)
        for i in range(3)
    ]
    big = group_create(
        org=org, display_name="Everyone", member_ids=[str(u.id) for u in users], actor=OPERATOR
    )
    group_create(org=org, display_name="Empty", actor=OPERATOR)
    page = console.get("/o/acme/groups/").content.decode()
    assert re.search(r"Everyone</a></td><td>.*?</td><td[^>]*>3</td>", page)
    assert re.search(r"Empty</a></td><td>.*?</td><td[^>]*>0</td>", page)
    assert "Everyone" not in console.get("/o/acme/groups/?q=emp").content.decode()
    members = console.get(f"/o/acme/groups/{big.id}/").content.decode()
    assert "3 members" in members and "m2@acme.example" in members


def test_deleting_a_user_permanently_frees_the_seat(console: Client, org: Org) -> None:
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    detail = console.get(f"/o/acme/users/{ada.id}/").content.decode()
    assert 'id="delete-user"' in detail and "This cannot be undone." in detail
    r = console.post(f"/o/acme/users/{ada.id}/delete/", follow=True)
    assert b"deleted permanently" in r.content
    org.refresh_from_db()
    assert org.users.count() == 0 and org.seats_used == 0
    event = org.events.get(action="user_delete")
    assert event.resource_name == "ada@acme.example" and "alice@acme.example" in event.message
    assert console.get(f"/o/acme/users/{ada.id}/").status_code == 404
    assert console.post(f"/o/acme/users/{ada.id}/delete/").status_code == 404


def test_bad_input_gets_a_message_and_changes_nothing(console: Client, org: Org) -> None:
    r = console.post("/o/acme/settings/tokens/", {"name": "x"}, follow=True)
    assert b"Enable SCIM provisioning before generating a token." in r.content
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    directory = scim_enable(org=org, actor=OPERATOR)
    r = console.post("/o/acme/settings/tokens/", {"name": "x" * 101}, follow=True)
    assert b"at most 100 characters" in r.content
    r = console.post("/o/acme/settings/deprovisioning/", {"deprovision": "explode"}, follow=True)
    assert b"Choose a policy, and a grace period of 1 to 3650 days." in r.content
    r = console.post("/o/acme/settings/scim/delete/", {})
    assert b"was not deleted" in r.content and b"data-open-on-load" in r.content
    directory.refresh_from_db()
    org.refresh_from_db()
    assert directory.deleted_at is None and org.deprovision == "disable"
    assert not directory.tokens.exists()
    assert console.get("/o/acme/settings/scim/").status_code == 405


def test_events_page_filters_and_shows_failures(console: Client, org: Org) -> None:
    event_record(
        org=org,
        action="user_create",
        outcome="failure",
        resource_name="x@acme.example",
        message="A user with userName 'x' already exists",
        status_code=409,
        actor=OPERATOR,
    )
    event_record(
        org=org,
        action="user_create",
        outcome="success",
        resource_name="y@acme.example",
        actor=OPERATOR,
    )
    event_record(
        org=org, action="group_create", outcome="success", resource_name="Sales", actor=OPERATOR
    )
    page = console.get("/o/acme/events/?outcome=failure").content.decode()
    assert "already exists" in page and "y@acme.example" not in page and "row-bad" in page
    page = console.get("/o/acme/events/?action=group_create").content.decode()
    assert "Sales" in page and "y@acme.example" not in page
    page = console.get("/o/acme/events/").content.decode()
    assert page.index("Sales") < page.index("y@acme.example") < page.index("x@acme.example")
    assert "Sales" not in console.get("/o/acme/events/?to=2000-01-01T00:00").content.decode()
    assert "Sales" not in console.get("/o/acme/events/?from=2999-01-01T00:00").content.decode()
    assert "Sales" in console.get("/o/acme/events/?from=2000-01-01T00:00").content.decode()
    assert console.get("/o/acme/events/?from=2026-01-01T00:00&to=garbage").status_code == 200


def test_the_users_page_costs_the_same_queries_for_5_or_50_users(
    console: Client, org: Org, django_assert_max_num_queries: Any
) -> None:
    org.seats = 100
    org.save()

    def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            user = user_create(
                org=org, fields=UserFields(user_name=f"u{i}@acme.example"), actor=OPERATOR
            )
            group_create(
                org=org, display_name=f"Team {i}", member_ids=[str(user.id)], actor=OPERATOR
            )

    add(0, 5)
    # 10, with the console's second-factor check (commandcenter.middleware: has
    # this admin a second factor, does an org of theirs require one).
    with django_assert_max_num_queries(10) as small:
        r = console.get("/o/acme/users/?q=u")
    assert b">5 in all<" in r.content
    add(5, 50)
    with django_assert_max_num_queries(len(small.captured_queries)):
        r = console.get("/o/acme/users/?q=u")
    assert b">50 in all<" in r.content
    for url in ("/o/acme/users/", "/o/acme/groups/", "/o/acme/events/", "/o/acme/settings/"):
        with django_assert_max_num_queries(len(small.captured_queries) + 4):
            assert console.get(url).status_code == 200


def test_another_orgs_admin_sees_and_changes_nothing(
    intruder: Client, world: dict[str, Any], org: Org
) -> None:
    for url in world["gets"]:
        assert intruder.get(url).status_code == 404, url
    for url, data in world["posts"].items():
        assert intruder.post(url, data).status_code == 404, url
    _assert_unchanged(world, org)
    # Their own org still works, and lists only their own org.
    assert intruder.get("/o/globex/users/").status_code == 200
    assert "Acme" not in intruder.get("/o/globex/settings/").content.decode()


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
    clients = set(org.events.filter(outcome="success").values_list("client", flat=True))
    assert clients == {"console: alice@acme.example"}


def test_access_groups_and_the_name_rule_from_the_console(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    directory = scim_enable(org=org, actor=OPERATOR)
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    r = console.post("/o/acme/settings/access/", {"access_groups": ["Engineering"]}, follow=True)
    assert b"Access is limited to members of Engineering" in r.content
    r = console.post(
        "/o/acme/settings/scim/name-rule/", {"reject_special_characters": "on"}, follow=True
    )
    assert b"Names with @ , # $ ! from the IdP are refused." in r.content
    directory.refresh_from_db()
    assert directory.reject_special_characters
    ada.refresh_from_db()
    assert ada.access == "NOT_IN_ACCESS_GROUPS"
    page = console.get("/o/acme/users/?seat=access").content.decode()
    assert "ada@acme.example" in page and "NOT_IN_ACCESS_GROUPS" in page
    console.post("/o/acme/settings/access/", {})
    ada.refresh_from_db()
    assert ada.access == ""


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


def _access_panel(console: Client) -> str:
    page = console.get("/o/acme/settings/").content.decode()
    found = re.search(r'<p id="access-state">(.*?)</p>', page, re.S)
    assert found is not None
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def _marked(org: Org) -> set[str]:
    return set(org.users.exclude(access="").values_list("user_name", flat=True))


def test_the_access_panel_and_the_marks_agree_whether_or_not_there_is_a_directory(
    console: Client, org: Org
) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    scim_enable(org=org, actor=OPERATOR)
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    bob = user_create(org=org, fields=UserFields(user_name="bob@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="Engineering", member_ids=[str(ada.id)], actor=OPERATOR)
    group_create(org=org, display_name="Sales", member_ids=[str(bob.id)], actor=OPERATOR)
    for i in range(3):
        user_create(org=org, fields=UserFields(user_name=f"u{i}@acme.example"), actor=OPERATOR)
    outside = {f"u{i}@acme.example" for i in range(3)}
    limited = (
        "Access is limited to members of Engineering, Sales. "
        "3 users are outside them: refused at sign-in."
    )
    everyone = (
        "Every user gets access: no access groups. "
        "No user is refused for being outside the access groups."
    )
    assert _access_panel(console) == everyone and _marked(org) == set()

    console.post("/o/acme/settings/access/", {"access_groups": ["Engineering", "Sales"]})
    assert _access_panel(console) == limited and _marked(org) == outside
    page = console.get("/o/acme/settings/").content.decode()
    assert "access stays limited to Engineering, Sales" in page  # the delete dialog

    console.post("/o/acme/settings/scim/delete/", {"confirm": "acme"})
    assert selectors.scim_directory_get(org=org) is None
    assert _access_panel(console) == limited and _marked(org) == outside

    console.post("/o/acme/settings/access/", {})  # cleared with no directory
    assert _access_panel(console) == everyone and _marked(org) == set()
    console.post("/o/acme/settings/access/", {"access_groups": ["Engineering", "Sales"]})
    assert _access_panel(console) == limited and _marked(org) == outside

    console.post("/o/acme/settings/scim/", {"enabled": "on"})  # a new directory
    assert selectors.scim_directory_get(org=org) is not None
    assert _access_panel(console) == limited and _marked(org) == outside
    console.post("/o/acme/settings/access/", {})
    assert _access_panel(console) == everyone and _marked(org) == set()


def test_the_deprovisioning_policy_is_set_without_a_directory_and_outlives_one(
    console: Client, org: Org
) -> None:
    page = console.get("/o/acme/settings/").content.decode()
    assert "Save deprovisioning" in page and "Save access" in page  # no directory yet
    r = console.post(
        "/o/acme/settings/deprovisioning/",
        {"deprovision": "delete", "confirmed": "on"},
        follow=True,
    )
    assert b"Deprovisioning set to Delete" in r.content
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    console.post("/o/acme/settings/scim/", {"enabled": "on"})
    console.post("/o/acme/settings/scim/delete/", {"confirm": "acme"})
    console.post("/o/acme/settings/scim/", {"enabled": "on"})
    org.refresh_from_db()
    assert org.deprovision == "delete"
    page = console.get("/o/acme/settings/").content.decode()
    assert re.search(r'value="delete"[^>]* checked', page)


def test_the_name_rule_is_the_directorys_and_goes_with_it(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    scim_enable(org=org, actor=OPERATOR)
    console.post("/o/acme/settings/scim/name-rule/", {"reject_special_characters": "on"})
    console.post("/o/acme/settings/scim/delete/", {"confirm": "acme"})
    r = console.post(
        "/o/acme/settings/scim/name-rule/", {"reject_special_characters": "on"}, follow=True
    )
    assert b"has no SCIM directory" in r.content
    assert "Save name rule" not in r.content.decode()
    directory = scim_enable(org=org, actor=OPERATOR)
    assert not directory.reject_special_characters
