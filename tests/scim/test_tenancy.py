"""Another org's token, or this org's token with another org's ids, sees and changes nothing."""

from __future__ import annotations

from directory.models import Org
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user


def test_another_orgs_users_and_groups_are_invisible_everywhere(
    scim: ScimClient, other_scim: ScimClient, org: Org, other_org: Org
) -> None:
    theirs = other_scim.post("/Users", okta_user("secret@globex.example")).json()
    their_group = other_scim.post(
        "/Groups", {"displayName": "Globex Admins", "members": [{"value": theirs["id"]}]}
    ).json()
    mine = scim.post("/Users", okta_user("me@acme.example")).json()
    my_group = scim.post("/Groups", {"displayName": "Acme"}).json()

    assert scim.get("/Users").json()["totalResults"] == 1
    assert scim.get('/Users?filter=userName eq "secret@globex.example"').json()["totalResults"] == 0
    assert scim.get('/Users?filter=userName pr or userName eq "x"').json()["totalResults"] == 1
    assert scim.get('/Groups?filter=displayName eq "Globex Admins"').json()["totalResults"] == 0
    assert scim.get("/Groups").json()["totalResults"] == 1

    for path in (f"/Users/{theirs['id']}", f"/Groups/{their_group['id']}"):
        assert_scim_error(scim.get(path), 404)
        assert_scim_error(scim.put(path, {"userName": "x@y.z", "displayName": "x"}), 404)
        assert_scim_error(
            scim.patch_ops(path, {"op": "replace", "path": "displayName", "value": "x"}), 404
        )
        assert_scim_error(scim.delete(path), 404)
    assert_scim_error(
        scim.patch_ops(
            f"/Groups/{my_group['id']}",
            {"op": "add", "path": "members", "value": [{"value": theirs["id"]}]},
        ),
        400,
        "invalidValue",
    )
    assert (
        scim.post("/Users/.search", {"filter": f'id eq "{theirs["id"]}"'}).json()["totalResults"]
        == 0
    )

    # Nothing of the other org changed.
    user = other_org.users.get()
    assert user.user_name == "secret@globex.example" and user.active
    group = other_org.groups.get()
    assert group.display_name == "Globex Admins"
    assert list(group.members.values_list("id", flat=True)) == [user.id]
    assert other_org.events.filter(outcome="failure").count() == 0
    assert str(org.users.get().id) == mine["id"]


def test_a_token_cannot_reach_another_directory_even_by_its_url(
    scim: ScimClient, other_scim: ScimClient, other_org: Org
) -> None:
    forged = ScimClient.__new__(ScimClient)
    forged.client, forged.base = scim.client, other_scim.base
    assert_scim_error(forged.get("/Users"), 401)
    assert_scim_error(forged.post("/Users", okta_user("intruder@acme.example")), 401)
    assert other_org.users.count() == 0
