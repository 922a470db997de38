"""The directory policies of issue 6, driven through SCIM as Okta and Entra send it."""

from __future__ import annotations

from django.core import mail

from directory.models import Org, ScimDirectory
from directory.services import (
    group_create,
    org_update,
    scim_directory_delete,
    scim_enable,
    scim_name_rule_set,
    scim_policy_set,
)
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user
from tokens.services import token_issue


def test_deactivation_under_the_delete_policy_removes_the_user_and_frees_its_seat(
    scim: ScimClient, org: Org
) -> None:
    org_update(org=org, seats=1)
    scim_policy_set(org=org, deprovision="delete")
    first = scim.post("/Users", okta_user("first@acme.example")).json()
    second = scim.post("/Users", okta_user("second@acme.example")).json()
    r = scim.patch_ops(f"/Users/{first['id']}", {"op": "replace", "value": {"active": False}})
    assert r.status_code == 204
    assert_scim_error(scim.get(f"/Users/{first['id']}"), 404)
    assert_scim_error(scim.put(f"/Users/{first['id']}", first), 404)
    waiting = org.users.get()
    assert str(waiting.id) == second["id"] and waiting.has_seat
    event = org.events.get(action="user_delete")
    assert "deprovisioning policy" in event.message
    assert mail.outbox == []


def test_entra_put_deactivation_under_the_delete_policy_answers_the_last_state(
    scim: ScimClient, org: Org
) -> None:
    scim_policy_set(org=org, deprovision="delete")
    created = scim.post("/Users", okta_user("put@acme.example")).json()
    r = scim.put(f"/Users/{created['id']}", {**created, "active": False})
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert org.users.count() == 0


def test_deleting_the_directory_keeps_users_and_groups_as_manual(
    scim: ScimClient, org: Org, directory: ScimDirectory
) -> None:
    user = scim.post("/Users", okta_user("stay@acme.example")).json()
    scim.post("/Groups", {"displayName": "Stays", "members": [{"value": user["id"]}]})
    scim_directory_delete(org=org)
    assert_scim_error(scim.get("/Users"), 401)
    kept = org.users.get()
    assert kept.source == "manual" and kept.directory_id is None
    group = org.groups.get()
    assert group.source == "manual" and list(group.members.all()) == [kept]
    assert directory.tokens.filter(revoked_at__isnull=True).count() == 0


def test_a_new_directory_links_existing_users_found_by_username(scim: ScimClient, org: Org) -> None:
    old = scim.post("/Users", okta_user("again@acme.example")).json()
    scim_directory_delete(org=org)
    new_directory = scim_enable(org=org)
    assert str(new_directory.id) not in scim.base
    new = ScimClient(new_directory, token_issue(directory=new_directory).plaintext)
    found = new.get('/Users?filter=userName eq "again@acme.example"').json()["Resources"]
    assert [u["id"] for u in found] == [old["id"]]
    r = new.put(f"/Users/{old['id']}", {**found[0], "title": "Back"})
    assert r.status_code == 200
    user = org.users.get()
    assert user.directory_id == new_directory.id and user.source == "scim"
    # The group takes over likewise, by name.
    group_create(org=org, display_name="Legacy")
    taken = new.post("/Groups", {"displayName": "Legacy"})
    assert taken.status_code == 201


def test_the_optional_name_rule_refuses_special_characters_naming_the_field(
    scim: ScimClient, org: Org
) -> None:
    assert (
        scim.post("/Users", okta_user("ok1@acme.example", given="Zoë-Anne (Jo)")).status_code == 201
    )
    scim_name_rule_set(org=org, enabled=True)
    body = assert_scim_error(
        scim.post("/Users", okta_user("bad@acme.example", family="Smith#1")), 400, "invalidValue"
    )
    assert "name.familyName" in body["detail"]
    assert (
        scim.post(
            "/Users", okta_user("ok2@acme.example", given="Łukasz O'Brien", family="李 Jr.")
        ).status_code
        == 201
    )
    assert not org.users.filter(user_name="bad@acme.example").exists()
