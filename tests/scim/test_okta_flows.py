"""Okta's requests, step by step, as Okta's SCIM client sends them; each write is
checked with a GET, as Okta itself would see it."""

from __future__ import annotations

from django.test import Client

from directory.models import Org, ScimDirectory
from tests.scim.conftest import GROUP_SCHEMA, ScimClient, assert_scim_error, okta_user

OKTA_UA = "Okta SCIM Client 1.0.0"


def test_test_api_credentials_and_saving_the_configuration(scim: ScimClient) -> None:
    r = scim.get("/Users?startIndex=1&count=2", HTTP_ACCEPT="application/scim+json")
    assert r.status_code == 200
    doc = r.json()
    assert isinstance(doc["totalResults"], int) and isinstance(doc["startIndex"], int)
    assert isinstance(doc["itemsPerPage"], int)
    assert scim.get("/Groups?startIndex=1&count=100").status_code == 200


def test_the_oin_spec_suite_sequence(scim: ScimClient, directory: ScimDirectory) -> None:
    scim.post("/Users", okta_user("seed@acme.example"))
    first = scim.get("/Users?count=1&startIndex=1").json()["Resources"][0]
    for key in ("id", "userName", "active"):
        assert first[key] not in (None, "")
    assert (
        first["name"]["familyName"] and first["name"]["givenName"] and first["emails"][0]["value"]
    )
    assert scim.get(f"/Users/{first['id']}").status_code == 200
    assert scim.get('/Users?filter=userName eq "nobody-xyz@atko.com"').json()["totalResults"] == 0
    assert_scim_error(scim.get("/Users/010101010101"), 404)
    body = okta_user("Runscope123Abcdefghi123@atko.com")
    created = scim.post("/Users", body, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["active"] is True and created.json()["name"]["givenName"] == "Ada"
    assert scim.get(f"/Users/{created.json()['id']}").status_code == 200
    assert_scim_error(scim.post("/Users", body, content_type="application/json"), 409)
    upper = scim.get('/Users?filter=userName eq "RUNSCOPE123ABCDEFGHI123@ATKO.COM"')
    assert upper.status_code == 200 and upper.json()["totalResults"] == 1
    assert scim.get("/Groups").status_code == 200
    r = Client(HTTP_AUTHORIZATION="non-token").get(f"/scim/v2/{directory.id}/Users")
    assert_scim_error(r, 401)


def test_assign_update_deactivate_and_reactivate_a_user(scim: ScimClient, org: Org) -> None:
    lookup = "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
    assert scim.get(lookup).json()["totalResults"] == 0
    created = scim.post("/Users", okta_user("test.user@okta.local")).json()
    # Profile update: GET, then PUT of what GET returned with the change.
    current = scim.get(f"/Users/{created['id']}").json()
    current["displayName"] = "Ada L."
    assert scim.put(f"/Users/{created['id']}", current).status_code == 200
    assert scim.get(f"/Users/{created['id']}").json()["displayName"] == "Ada L."
    # Deactivate (OIN): path-less PATCH.
    r = scim.patch_ops(f"/Users/{created['id']}", {"op": "replace", "value": {"active": False}})
    assert r.status_code == 200
    assert scim.get(f"/Users/{created['id']}").json()["active"] is False
    # Reassign: the filter finds the inactive user, then GET + PUT active:true.
    found = scim.get(lookup).json()["Resources"][0]
    assert found["id"] == created["id"] and found["active"] is False
    again = scim.get(f"/Users/{created['id']}").json()
    assert scim.put(f"/Users/{created['id']}", {**again, "active": True}).status_code == 200
    assert scim.get(f"/Users/{created['id']}").json()["active"] is True
    assert org.users.count() == 1
    actions = list(org.events.order_by("id").values_list("action", "outcome"))
    assert actions == [
        ("user_create", "success"),
        ("user_update", "success"),
        ("user_deactivate", "disabled"),
        ("user_reactivate", "success"),
    ]
    assert set(org.events.values_list("client", flat=True)) == {OKTA_UA}


def test_aiw_unassign_is_a_get_then_put_with_active_false(scim: ScimClient, org: Org) -> None:
    created = scim.post("/Users", okta_user("aiw@okta.local")).json()
    current = scim.get(f"/Users/{created['id']}").json()
    assert scim.put(f"/Users/{created['id']}", {**current, "active": False}).status_code == 200
    assert scim.get(f"/Users/{created['id']}").json()["active"] is False


def test_push_groups_create_check_rename_membership_and_unlink(scim: ScimClient, org: Org) -> None:
    alice = scim.post("/Users", okta_user("alice@okta.local")).json()["id"]
    bob = scim.post("/Users", okta_user("bob@okta.local")).json()["id"]
    group = scim.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Okta Pushed", "members": []}
    )
    assert group.status_code == 201
    gid = group.json()["id"]
    assert scim.get(f"/Groups/{gid}").status_code == 200
    # Membership with the rename op Okta sends alongside.
    r = scim.patch_ops(
        f"/Groups/{gid}",
        {"op": "replace", "value": {"id": gid, "displayName": "Okta Pushed"}},
        {
            "op": "add",
            "path": "members",
            "value": [
                {"value": alice, "display": "alice@okta.local"},
                {"value": bob, "display": "bob@okta.local"},
            ],
        },
    )
    assert r.status_code == 200
    r = scim.patch_ops(f"/Groups/{gid}", {"op": "remove", "path": f'members[value eq "{alice}"]'})
    assert r.status_code == 200
    members = scim.get(f"/Groups/{gid}").json()["members"]
    assert [m["value"] for m in members] == [bob]
    # Rename.
    scim.patch_ops(
        f"/Groups/{gid}", {"op": "replace", "value": {"id": gid, "displayName": "Renamed"}}
    )
    assert scim.get(f"/Groups/{gid}").json()["displayName"] == "Renamed"
    # "Push now" on an empty group.
    scim.patch_ops(f"/Groups/{gid}", {"op": "replace", "path": "members", "value": []})
    assert scim.get(f"/Groups/{gid}").json()["members"] == []
    # Unlink and delete in the target app.
    assert scim.delete(f"/Groups/{gid}").status_code == 204
    assert_scim_error(scim.get(f"/Groups/{gid}"), 404)
    assert org.users.count() == 2
