from __future__ import annotations

from directory.models import LdapDirectory, Org, ScimDirectory
from directory.services.ldap_sync import ldap_sync
from tests.ldap_server import Tree
from tests.scim.conftest import ScimClient, okta_user


def test_scim_takes_over_an_ldap_user_with_no_duplicate(
    org: Org, directory: ScimDirectory, token: str, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    ada = ldap_tree.add_user("ada", given="Ada", sn="Lovelace")
    other = ldap_tree.add_user("alan", given="Alan", sn="Turing")
    ldap_tree.add_group("Engineering", [ada, other])
    ldap_sync(org=org)
    synced = org.users.get(user_name="ada@example.org")
    scim = ScimClient(directory, token)

    r = scim.post("/Users", okta_user("ada@example.org", given="Ada", family="King"))

    assert r.status_code == 201, r.content
    assert r.json()["id"] == str(synced.id)  # the SCIM id is its identity from now on
    assert org.users.filter(user_name="ada@example.org").count() == 1
    user = org.users.get(pk=synced.pk)
    assert (user.source, user.directory_id, user.family_name) == ("scim", directory.id, "King")
    # It left its LDAP group; the other member stays.
    engineering = org.groups.get(display_name="Engineering")
    assert [u.user_name for u in engineering.members.all()] == ["alan@example.org"]
    event = org.events.filter(resource_id=user.id).latest("id")
    assert event.message.startswith("Taken over from LDAP by SCIM; left 1 LDAP group(s)")

    # Later LDAP runs leave it alone: no update, no re-join, no deprovisioning.
    ldap_tree.modify(ada, sn="Byron")
    run = ldap_sync(org=org)
    assert run.totals["skipped"] == 1 and run.totals["updated"] == 0
    user.refresh_from_db()
    assert (user.source, user.family_name, user.active) == ("scim", "King", True)
    assert [u.user_name for u in engineering.members.all()] == ["alan@example.org"]
    ldap_tree.delete(ada)
    run = ldap_sync(org=org)
    assert run.totals["disabled"] == 0 and run.totals["deleted"] == 0
    user.refresh_from_db()
    assert user.active


def test_a_scim_group_takes_over_an_ldap_group_of_the_same_name(
    org: Org, directory: ScimDirectory, token: str, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    ldap_tree.add_group("Sales", [ldap_tree.add_user("bob")])
    ldap_sync(org=org)
    group = org.groups.get()
    scim = ScimClient(directory, token)

    r = scim.post(
        "/Groups",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"},
    )

    assert r.status_code == 201, r.content
    assert r.json()["id"] == str(group.id)
    group.refresh_from_db()
    assert (group.source, group.directory_id) == ("scim", directory.id)
    ldap_tree.delete(ldap_tree.group_dn("Sales"))
    run = ldap_sync(org=org)
    assert run.totals["groups_deleted"] == 0
    assert org.groups.filter(pk=group.pk).exists()


def test_an_ldap_entry_whose_username_scim_already_has_is_skipped(
    org: Org, directory: ScimDirectory, token: str, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    ScimClient(directory, token).post("/Users", okta_user("eve@example.org"))
    ldap_tree.add_user("eve")

    run = ldap_sync(org=org)

    assert run.totals["skipped"] == 1 and run.totals["created"] == 0
    assert org.users.get().source == "scim"


def test_an_idp_that_finds_the_ldap_user_and_patches_it_takes_it_over_too(
    org: Org, directory: ScimDirectory, token: str, ldap: LdapDirectory, ldap_tree: Tree
) -> None:
    ldap_tree.add_group("Ops", [ldap_tree.add_user("ken", given="Ken", sn="Thompson")])
    ldap_sync(org=org)
    scim = ScimClient(directory, token)

    found = scim.get("/Users", {"filter": 'userName eq "ken@example.org"'}).json()
    assert found["totalResults"] == 1
    user_id = found["Resources"][0]["id"]
    r = scim.patch_ops(
        f"/Users/{user_id}", {"op": "replace", "path": "title", "value": "Unix author"}
    )

    assert r.status_code == 200, r.content
    user = org.users.get()
    assert (user.source, user.title) == ("scim", "Unix author")
    assert not org.groups.get(display_name="Ops").members.exists()
    assert ldap_sync(org=org).totals["skipped"] == 1
