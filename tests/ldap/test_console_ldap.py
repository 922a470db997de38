"""Settings > Identity and Access > End User > Directory sync."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from directory.models import AuditEvent, LdapDirectory, Org, ScimDirectory
from tests.ldap.conftest import configure
from tests.ldap_server import ADMIN_DN, ADMIN_PASSWORD, Tree
from tests.scim.conftest import ScimClient, okta_user

PAGE = "/o/acme/settings/directory-sync/"


@pytest.fixture
def console(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def _form(tree: Tree, **overrides: Any) -> dict[str, Any]:
    body = {
        "url": tree.server.url,
        "security": "none",
        "bind_dn": ADMIN_DN,
        "bind_password": ADMIN_PASSWORD,
        "preset": "openldap",
        "user_base": tree.people,
        "group_base": tree.groups,
        "enabled": "on",
    }
    body.update(overrides)
    return body


def test_an_admin_configures_tests_syncs_and_sees_scim_take_a_user_over(
    console: Client, org: Org, directory: ScimDirectory, token: str, ldap_tree: Tree
) -> None:
    ada = ldap_tree.add_user("ada", given="Ada", sn="Lovelace", title="Engineer")
    ldap_tree.add_group("Engineering", [ada, ldap_tree.add_user("alan", given="Alan")])
    page = console.get("/o/acme/settings/").content.decode()
    assert "Set up directory sync" in page and PAGE in page

    r = console.post(PAGE, _form(ldap_tree))
    assert r.status_code == 302 and r["Location"] == PAGE
    page = console.get(PAGE).content.decode()
    assert "Directory sync saved" in page and "password set (not shown)" in page
    assert ADMIN_PASSWORD not in page
    assert AuditEvent.objects.filter(org=org, action="ldap.configure", via="console").exists()

    page = console.post(PAGE + "test/").content.decode()
    assert "The filters find <strong>2</strong> users" in page
    assert "ada@example.org" in page and "Engineer" in page
    assert not org.users.exists()

    r = console.post(PAGE + "sync/", follow=True)
    page = r.content.decode()
    assert "Synced: 2 created, 0 updated, 0 disabled, 0 deleted, 0 failed." in page
    assert 'id="ldap-runs"' in page and "console" in page
    users = console.get("/o/acme/users/").content.decode()
    assert "ada@example.org" in users and "alan@example.org" in users
    assert "Engineering" in console.get("/o/acme/groups/").content.decode()
    assert "2 created" in console.get("/o/acme/settings/").content.decode()

    r = ScimClient(directory, token).post("/Users", okta_user("ada@example.org"))
    assert r.status_code == 201
    assert org.users.filter(user_name="ada@example.org").count() == 1
    detail = console.get(f"/o/acme/users/{r.json()['id']}/").content.decode()
    assert "Taken over from LDAP by SCIM" in console.get("/o/acme/events/").content.decode()
    assert "ada@example.org" in detail


def test_a_failed_test_shows_the_reason_and_changes_nothing(
    console: Client, org: Org, ldap_tree: Tree
) -> None:
    configure(org, ldap_tree, bind_password="wrong")
    page = console.post(PAGE + "test/").content.decode()
    assert "Test failed: The server refused the bind DN and password" in page
    page = console.post(PAGE + "sync/", follow=True).content.decode()
    assert "The sync failed: The server refused the bind DN and password" in page
    assert not org.users.exists()


def test_saving_without_a_password_keeps_the_saved_one(
    console: Client, org: Org, ldap_tree: Tree
) -> None:
    configure(org, ldap_tree)
    form = _form(ldap_tree, bind_password="", user_name_attribute="uid")
    assert console.post(PAGE, form).status_code == 302
    ldap = LdapDirectory.objects.get()
    assert ldap.bind_password == ADMIN_PASSWORD and ldap.attributes == {"user_name": "uid"}


def test_bad_settings_show_the_error_on_the_form(
    console: Client, org: Org, ldap_tree: Tree
) -> None:
    r = console.post(PAGE, _form(ldap_tree, url="http://nope"))
    assert r.status_code == 200
    assert "is not an ldap:// or ldaps:// URL" in r.content.decode()
    assert not LdapDirectory.objects.exists()


def test_remove_keeps_the_users_as_manual_ones(console: Client, org: Org, ldap_tree: Tree) -> None:
    configure(org, ldap_tree)
    ldap_tree.add_user("ada")
    console.post(PAGE + "sync/")
    page = console.post(PAGE + "remove/", follow=True).content.decode()
    assert "its 1 user(s) stay, as manual users" in page
    assert org.users.get().source == "manual"


def test_another_orgs_admin_gets_404_and_changes_nothing(
    other_admin: User, org: Org, ldap_tree: Tree
) -> None:
    configure(org, ldap_tree)
    ldap_tree.add_user("ada")
    intruder = Client()
    intruder.force_login(other_admin)
    assert intruder.get(PAGE).status_code == 404
    assert intruder.post(PAGE, _form(ldap_tree, url="ldap://evil.example")).status_code == 404
    for action in ("test/", "sync/", "remove/"):
        assert intruder.post(PAGE + action).status_code == 404, action
    assert LdapDirectory.objects.get(org=org).url == ldap_tree.server.url
    assert not org.users.exists() and not org.ldap_runs.exists()
