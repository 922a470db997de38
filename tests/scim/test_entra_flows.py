"""Microsoft Entra ID's requests, as Entra's provisioning service sends them."""

from __future__ import annotations

from django.test import Client

from directory.models import Org, ScimDirectory
from tests.scim.conftest import ENTERPRISE, USER_SCHEMA, ScimClient, assert_scim_error


def test_test_connection_without_scim_content_types(directory: ScimDirectory, token: str) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = client.get(
        f"/scim/v2/{directory.id}/Users?filter=userName+eq+%22f3a5bd2c-e3b7-4c02-9a4b-4f4a47b6c8de%22"
    )
    assert r.status_code == 200
    assert r.json()["Resources"] == [] and r.json()["totalResults"] == 0
    assert client.get(f"/scim/v2/{directory.id}/Schemas").status_code == 200


def _entra_user(user_name: str) -> dict[str, object]:
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "e1",
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Jo Doe", "familyName": "Doe", "givenName": "Jo"},
        "roles": [],
    }


def test_user_lifecycle_with_default_and_aad_opt_shapes(scim: ScimClient, org: Org) -> None:
    created = scim.post("/Users", _entra_user("jo@contoso.com")).json()
    uid = created["id"]
    assert scim.get('/Users?filter=externalId eq "e1"').json()["totalResults"] == 1
    r = scim.patch_ops(
        f"/Users/{uid}",
        {"op": "Add", "path": "nickName", "value": "Jojo"},
        {"op": "Replace", "path": "name.familyName", "value": "Dough"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "701984"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "jo.dough@contoso.com"},
    )
    assert r.status_code == 200, r.content
    got = scim.get(f"/Users/{uid}").json()
    assert got["nickName"] == "Jojo" and got["name"]["familyName"] == "Dough"
    assert got[ENTERPRISE]["employeeNumber"] == "701984"
    assert got["emails"][0]["value"] == "jo.dough@contoso.com"
    # aadOptscim062020: one path-less replace with dotted and URN-prefixed keys.
    r = scim.patch_ops(
        f"/Users/{uid}",
        {
            "op": "replace",
            "value": {
                "name.givenName": "Joanna",
                f"{ENTERPRISE}:department": "Research",
                "displayName": "Joanna Dough",
            },
        },
    )
    assert r.status_code == 200, r.content
    got = scim.get(f"/Users/{uid}").json()
    assert got["name"]["givenName"] == "Joanna" and got[ENTERPRISE]["department"] == "Research"
    # Manager as a bare id, in its own PATCH after create.
    boss = scim.post("/Users", _entra_user("boss@contoso.com") | {"externalId": "e2"}).json()["id"]
    scim.patch_ops(f"/Users/{uid}", {"op": "add", "path": f"{ENTERPRISE}:manager", "value": boss})
    assert scim.get(f"/Users/{uid}").json()[ENTERPRISE]["manager"]["value"] == boss
    # Soft delete, then hard delete.
    scim.patch_ops(f"/Users/{uid}", {"op": "Replace", "path": "active", "value": "False"})
    assert scim.get(f"/Users/{uid}").json()["active"] is False
    assert scim.delete(f"/Users/{uid}").status_code == 204
    assert_scim_error(scim.get(f"/Users/{uid}"), 404)


def test_group_lifecycle(scim: ScimClient) -> None:
    a = scim.post("/Users", _entra_user("a@contoso.com")).json()["id"]
    b = scim.post("/Users", _entra_user("b@contoso.com") | {"externalId": "e3"}).json()["id"]
    assert (
        scim.get('/Groups?excludedAttributes=members&filter=displayName eq "Sales"').json()[
            "totalResults"
        ]
        == 0
    )
    gid = scim.post(
        "/Groups",
        {
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": "g1",
            "displayName": "Sales",
            "meta": {"resourceType": "Group"},
        },
    ).json()["id"]
    assert scim.get(f"/Groups/{gid}?excludedAttributes=members").status_code == 200
    scim.patch_ops(
        f"/Groups/{gid}", {"op": "Replace", "path": "displayName", "value": "Sales EMEA"}
    )
    scim.patch_ops(
        f"/Groups/{gid}",
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": a}, {"$ref": None, "value": b}],
        },
    )
    scim.patch_ops(f"/Groups/{gid}", {"op": "Remove", "path": "members", "value": [{"value": a}]})
    got = scim.get(f"/Groups/{gid}").json()
    assert got["displayName"] == "Sales EMEA"
    assert [m["value"] for m in got["members"]] == [b]
    scim.patch_ops(f"/Groups/{gid}", {"op": "remove", "path": "members"})
    assert scim.get(f"/Groups/{gid}").json()["members"] == []
    assert scim.delete(f"/Groups/{gid}").status_code == 204
