from __future__ import annotations

from typing import Any

from directory.models import Group, Org
from directory.services import group_create
from tests.actors import OPERATOR
from tests.scim.conftest import GROUP_SCHEMA, ScimClient, assert_scim_error, okta_user


def _users(scim: ScimClient, n: int, prefix: str = "m") -> list[str]:
    return [
        scim.post("/Users", okta_user(f"{prefix}{i}@acme.example")).json()["id"] for i in range(n)
    ]


def _member_ids(scim: ScimClient, group_id: str) -> set[str]:
    return {m["value"] for m in scim.get(f"/Groups/{group_id}").json().get("members", [])}


def test_okta_push_creates_a_group_without_members(scim: ScimClient, org: Org) -> None:
    r = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": []})
    assert r.status_code == 201
    doc = r.json()
    assert doc["displayName"] == "Sales" and doc["members"] == []
    assert r["Location"].endswith(f"/Groups/{doc['id']}")
    assert org.groups.get().source == "scim"


def test_entra_creates_a_group_with_its_extra_schema_and_meta(scim: ScimClient) -> None:
    body = {
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Group1DisplayName",
        "meta": {"resourceType": "Group"},
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
    }
    r = scim.post("/Groups", body)
    assert r.status_code == 201, r.content
    assert r.json()["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"


def test_a_duplicate_display_name_is_a_409(scim: ScimClient) -> None:
    scim.post("/Groups", {"displayName": "Ops"})
    assert_scim_error(scim.post("/Groups", {"displayName": "OPS"}), 409, "uniqueness")


def test_okta_membership_patch_removes_and_adds_in_one_request(scim: ScimClient) -> None:
    a, b, c = _users(scim, 3)
    group = scim.post(
        "/Groups", {"displayName": "Eng", "members": [{"value": a}, {"value": b}]}
    ).json()
    r = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        {"op": "add", "path": "members", "value": [{"value": c, "display": "m2@acme.example"}]},
    )
    assert r.status_code == 200, r.content
    assert _member_ids(scim, group["id"]) == {b, c}


def test_entra_remove_with_a_value_list_removes_only_those_members(scim: ScimClient) -> None:
    a, b, c = _users(scim, 3)
    group = scim.post(
        "/Groups", {"displayName": "Eng", "members": [{"value": x} for x in (a, b, c)]}
    ).json()
    r = scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "Remove", "path": "members", "value": [{"value": b}]}
    )
    assert r.status_code == 200
    assert _member_ids(scim, group["id"]) == {a, c}


def test_replace_members_with_an_empty_list_empties_the_group(scim: ScimClient) -> None:
    a, b = _users(scim, 2)
    group = scim.post(
        "/Groups", {"displayName": "Eng", "members": [{"value": a}, {"value": b}]}
    ).json()
    scim.patch_ops(f"/Groups/{group['id']}", {"op": "replace", "path": "members", "value": []})
    assert _member_ids(scim, group["id"]) == set()


def test_okta_pathless_rename_with_the_id_in_the_value(scim: ScimClient) -> None:
    group = scim.post("/Groups", {"displayName": "Old"}).json()
    r = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "replace", "value": {"id": group["id"], "displayName": "New"}},
    )
    assert r.status_code == 200, r.content
    assert scim.get(f"/Groups/{group['id']}").json()["displayName"] == "New"


def test_entra_adds_members_with_a_null_ref(scim: ScimClient) -> None:
    (a,) = _users(scim, 1)
    group = scim.post("/Groups", {"displayName": "Eng"}).json()
    r = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": a}]},
    )
    assert r.status_code == 200
    assert _member_ids(scim, group["id"]) == {a}


def test_a_member_from_another_org_is_a_400_and_changes_nothing(
    scim: ScimClient, other_scim: ScimClient, org: Org
) -> None:
    (mine,) = _users(scim, 1)
    foreign = other_scim.post("/Users", okta_user("x@globex.example")).json()["id"]
    group = scim.post("/Groups", {"displayName": "Eng"}).json()
    r = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": mine}, {"value": foreign}]},
    )
    body = assert_scim_error(r, 400, "invalidValue")
    assert foreign in body["detail"]
    assert _member_ids(scim, group["id"]) == set()
    assert_scim_error(
        scim.post("/Groups", {"displayName": "Sneaky", "members": [{"value": foreign}]}),
        400,
        "invalidValue",
    )
    assert not org.groups.filter(display_name="Sneaky").exists()


def test_nested_groups_are_refused_clearly(scim: ScimClient) -> None:
    child = scim.post("/Groups", {"displayName": "Child"}).json()
    body = assert_scim_error(
        scim.post(
            "/Groups",
            {"displayName": "Parent", "members": [{"value": child["id"], "type": "Group"}]},
        ),
        400,
        "invalidValue",
    )
    assert "Nested groups are not supported" in body["detail"]


def test_put_replaces_the_group_with_its_full_member_list(scim: ScimClient) -> None:
    a, b, c = _users(scim, 3)
    group = scim.post(
        "/Groups", {"displayName": "Eng", "members": [{"value": a}, {"value": b}]}
    ).json()
    current = scim.get(f"/Groups/{group['id']}").json()
    current["members"] = [{"value": b}, {"value": c}]
    current["displayName"] = "Engineering"
    r = scim.put(f"/Groups/{group['id']}", current)
    assert r.status_code == 200, r.content
    assert _member_ids(scim, group["id"]) == {b, c}
    assert r.json()["displayName"] == "Engineering"


def test_excluded_members_are_not_loaded_at_all(
    scim: ScimClient, django_assert_max_num_queries: Any
) -> None:
    ids = _users(scim, 3)
    group = scim.post(
        "/Groups", {"displayName": "Eng", "members": [{"value": i} for i in ids]}
    ).json()
    # token, group; the provisioning log's INSERT
    with django_assert_max_num_queries(3) as ctx:
        doc = scim.get(f"/Groups/{group['id']}?excludedAttributes=members").json()
    assert "members" not in doc and doc["displayName"] == "Eng"
    assert not any("membership" in q["sql"].lower() for q in ctx.captured_queries)


def test_entra_finds_a_group_by_display_name(scim: ScimClient) -> None:
    scim.post("/Groups", {"displayName": "Marketing"})
    doc = scim.get('/Groups?excludedAttributes=members&filter=displayName eq "marketing"').json()
    assert doc["totalResults"] == 1
    assert "members" not in doc["Resources"][0]


def test_delete_removes_the_group_not_its_members(scim: ScimClient, org: Org) -> None:
    (a,) = _users(scim, 1)
    group = scim.post("/Groups", {"displayName": "Eng", "members": [{"value": a}]}).json()
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Groups/{group['id']}"), 404)
    assert org.users.count() == 1


def test_a_pushed_group_takes_over_a_manual_group_of_the_same_name(
    scim: ScimClient, org: Org
) -> None:
    (a,) = _users(scim, 1)
    manual = group_create(org=org, display_name="Finance", member_ids=[a], actor=OPERATOR)
    r = scim.post("/Groups", {"displayName": "finance", "members": []})
    assert r.status_code == 201
    assert r.json()["id"] == str(manual.id)
    assert _member_ids(scim, str(manual.id)) == {a}
    taken = Group.objects.get(pk=manual.pk)
    assert taken.source == "scim" and taken.directory_id is not None
    assert_scim_error(scim.post("/Groups", {"displayName": "Finance"}), 409, "uniqueness")


def test_groups_list_is_paged_with_members(scim: ScimClient) -> None:
    (a,) = _users(scim, 1)
    for i in range(3):
        scim.post("/Groups", {"displayName": f"G{i}", "members": [{"value": a}]})
    doc = scim.get("/Groups?startIndex=1&count=100").json()
    assert doc["totalResults"] == 3
    assert all(g["members"][0]["value"] == a for g in doc["Resources"])


def test_a_member_value_that_is_no_user_id_is_skipped_and_noted(scim: ScimClient, org: Org) -> None:
    (a,) = _users(scim, 1)
    group = scim.post("/Groups", {"displayName": "Eng"}).json()
    r = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": "fake-member-id"}, {"value": a}]},
    )
    assert r.status_code == 200
    assert _member_ids(scim, group["id"]) == {a}
    event = org.events.filter(action="group_members").get()
    assert event.details["skipped"] == ["fake-member-id"]
    assert "fake-member-id" in event.message
