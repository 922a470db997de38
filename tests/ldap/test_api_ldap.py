from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from directory.models import LdapDirectory, Org
from tests.api.test_api import client_for
from tests.ldap.conftest import configure
from tests.ldap_server import ADMIN_DN, ADMIN_PASSWORD, Tree


def _settings(tree: Tree, **overrides: Any) -> dict[str, Any]:
    body = {
        "url": tree.server.url,
        "security": "none",
        "bind_dn": ADMIN_DN,
        "bind_password": ADMIN_PASSWORD,
        "user_base": tree.people,
        "group_base": tree.groups,
        "preset": "openldap",
        "page_size": 2,
    }
    body.update(overrides)
    return body


def test_an_admin_configures_tests_and_syncs_over_the_api(
    admin: User, org: Org, ldap_tree: Tree
) -> None:
    api = client_for(admin)
    ldap_tree.add_group("Staff", [ldap_tree.add_user("ada", given="Ada", sn="Lovelace")])
    for i in range(4):
        ldap_tree.add_user(f"u{i}")
    assert api.get("/api/v1/orgs/acme/ldap/").status_code == 404

    r = api.put("/api/v1/orgs/acme/ldap/", _settings(ldap_tree), format="json")
    assert r.status_code == 200, r.content
    doc = r.json()
    assert doc["bind_password_set"] is True and "bind_password" not in doc
    assert ADMIN_PASSWORD not in r.content.decode()
    assert doc["mapping"]["user_name"] == "mail"

    # Saved again without a password: the saved one is kept.
    body = _settings(ldap_tree, user_filter="(objectClass=inetOrgPerson)")
    del body["bind_password"]
    assert api.put("/api/v1/orgs/acme/ldap/", body, format="json").status_code == 200
    assert LdapDirectory.objects.get().bind_password == ADMIN_PASSWORD

    r = api.post("/api/v1/orgs/acme/ldap/test/")
    assert r.status_code == 200
    test = r.json()
    assert (test["ok"], test["users"], test["groups"]) == (True, 5, 1)
    assert len(test["samples"]) == 5
    ada = next(s for s in test["samples"] if s["user_name"] == "ada@example.org")
    assert (ada["given_name"], ada["family_name"], ada["active"]) == ("Ada", "Lovelace", True)
    assert not org.users.exists()

    r = api.post("/api/v1/orgs/acme/ldap/sync/")
    assert r.status_code == 200  # the tests' Celery runs the task at once
    assert r.json()["queued"] is False
    run = r.json()["run"]
    assert run["status"] == "success" and run["trigger"] == "api"
    assert run["totals"]["created"] == 5 and run["totals"]["groups_created"] == 1
    assert [x["id"] for x in api.get("/api/v1/orgs/acme/ldap/runs/").json()] == [run["id"]]
    users = api.get("/api/v1/orgs/acme/users/").json()
    assert len(users["results"]) == 5

    assert api.delete("/api/v1/orgs/acme/ldap/").status_code == 204
    assert set(org.users.values_list("source", flat=True)) == {"manual"}


def test_a_failed_test_says_why(admin: User, org: Org, ldap_tree: Tree) -> None:
    configure(org, ldap_tree, bind_password="wrong")
    r = client_for(admin).post("/api/v1/orgs/acme/ldap/test/")
    assert r.status_code == 200
    assert r.json()["ok"] is False and "refused the bind DN and password" in r.json()["error"]
    r = client_for(admin).post("/api/v1/orgs/acme/ldap/sync/")
    assert r.json()["run"]["status"] == "failed"


def test_sync_now_while_a_run_holds_the_directory_is_a_409(
    admin: User, org: Org, ldap_tree: Tree
) -> None:
    from django.utils import timezone

    ldap = configure(org, ldap_tree)
    LdapDirectory.objects.filter(pk=ldap.pk).update(running_since=timezone.now())
    r = client_for(admin).post("/api/v1/orgs/acme/ldap/sync/")
    assert r.status_code == 409 and "is running" in r.json()["error"]["message"]
    assert not org.ldap_runs.exists()


def test_bad_settings_are_a_400_naming_the_field(admin: User, org: Org, ldap_tree: Tree) -> None:
    r = client_for(admin).put(
        "/api/v1/orgs/acme/ldap/", _settings(ldap_tree, url="ftp://x"), format="json"
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "url"
    assert not LdapDirectory.objects.exists()


def test_another_orgs_admin_gets_404_and_changes_nothing(
    other_admin: User, org: Org, ldap_tree: Tree
) -> None:
    configure(org, ldap_tree)
    ldap_tree.add_user("ada")
    intruder = client_for(other_admin)
    for path in ("/api/v1/orgs/acme/ldap/", "/api/v1/orgs/acme/ldap/runs/"):
        assert intruder.get(path).status_code == 404, path
    assert intruder.post("/api/v1/orgs/acme/ldap/test/").status_code == 404
    assert intruder.post("/api/v1/orgs/acme/ldap/sync/").status_code == 404
    r = intruder.put(
        "/api/v1/orgs/acme/ldap/", _settings(ldap_tree, url="ldap://evil.example"), format="json"
    )
    assert r.status_code == 404
    assert intruder.delete("/api/v1/orgs/acme/ldap/").status_code == 404
    assert LdapDirectory.objects.get(org=org).url == ldap_tree.server.url
    assert not org.users.exists() and not org.ldap_runs.exists()


def test_sync_now_is_queued_for_a_worker_and_answers_202(
    admin: User, org: Org, ldap_tree: Tree, monkeypatch: Any
) -> None:
    from directory import tasks

    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.ldap_sync, "delay", lambda *args: queued.append(args))
    configure(org, ldap_tree)

    r = client_for(admin).post("/api/v1/orgs/acme/ldap/sync/")

    assert r.status_code == 202 and r.json() == {"queued": True, "run": None}
    assert queued == [(org.pk, "api")]
