from __future__ import annotations

from directory.models import Org
from directory.services import group_create
from tests.actors import OPERATOR
from tests.scim.conftest import PATCH_OP, ScimClient, assert_scim_error, okta_user


def test_a_group_id_without_its_type_is_refused_as_nesting(scim: ScimClient, org: Org) -> None:
    child = scim.post("/Groups", {"displayName": "Child"}).json()
    body = assert_scim_error(
        scim.post("/Groups", {"displayName": "Parent", "members": [{"value": child["id"]}]}),
        400,
        "invalidValue",
    )
    assert body["detail"] == f"Nested groups are not supported: {child['id']} is a group"
    assert not org.groups.filter(display_name="Parent").exists()


def test_adding_a_group_as_a_member_by_patch_is_refused_and_changes_nothing(
    scim: ScimClient, org: Org
) -> None:
    user = scim.post("/Users", okta_user("ann@acme.example")).json()
    parent = scim.post("/Groups", {"displayName": "Parent"}).json()
    child = scim.post("/Groups", {"displayName": "Child"}).json()
    r = scim.patch(
        f"/Groups/{parent['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "add", "path": "members", "value": [{"value": user["id"]}]},
                {"op": "add", "path": "members", "value": [{"value": child["id"]}]},
            ],
        },
    )
    body = assert_scim_error(r, 400, "invalidValue")
    assert "Nested groups are not supported" in body["detail"] and child["id"] in body["detail"]
    assert org.groups.get(display_name="Parent").members.count() == 0


def test_another_orgs_group_id_reads_as_an_unknown_user(scim: ScimClient, other_org: Org) -> None:
    foreign = group_create(org=other_org, display_name="Theirs", actor=OPERATOR)
    body = assert_scim_error(
        scim.post("/Groups", {"displayName": "Parent", "members": [{"value": str(foreign.id)}]}),
        400,
        "invalidValue",
    )
    assert "Nested" not in body["detail"]
    assert body["detail"] == f"No user with id {foreign.id} in this directory"


def test_the_failure_event_says_nested_groups_are_not_supported(scim: ScimClient, org: Org) -> None:
    child = scim.post("/Groups", {"displayName": "Child"}).json()
    scim.post("/Groups", {"displayName": "Parent", "members": [{"value": child["id"]}]})
    failure = org.events.get(outcome="failure")
    assert failure.message.startswith("Nested groups are not supported")
