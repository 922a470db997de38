"""The PATCH engine on plain dicts: every shape from idp-wire-behaviour.md."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scim.patch import PatchError, apply_user_patch, parse_patch, plan_group_patch

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "u1",
    "userName": "ada@x.example",
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"value": "ada@x.example", "type": "work", "primary": True}],
    "active": True,
    "meta": {"version": 'W/"1"'},
}


def patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return apply_user_patch(USER, parse_patch({"schemas": [OP], "Operations": list(ops)}))


def test_okta_pathless_deactivation() -> None:
    assert patch({"op": "replace", "value": {"active": False}})["active"] is False


def test_entra_default_shapes() -> None:
    doc = patch(
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": f"{ENT}:employeeNumber", "value": "701984"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@x.example"},
        {"op": "Replace", "path": "name.familyName", "value": "Byron"},
    )
    assert doc["active"] is False and doc["nickName"] == "Babs"
    assert doc[ENT] == {"employeeNumber": "701984"}
    assert doc["emails"] == [{"value": "new@x.example", "type": "work", "primary": True}]
    assert doc["name"] == {"givenName": "Ada", "familyName": "Byron"}


def test_entra_aad_opt_pathless_replace_with_dotted_and_urn_keys() -> None:
    doc = patch(
        {
            "op": "replace",
            "value": {
                "name.givenName": "Augusta",
                f"{ENT}:department": "Maths",
                "displayName": "Augusta Ada",
                "someMicrosoftExtra": 1,
            },
        }
    )
    assert doc["name"]["givenName"] == "Augusta" and doc[ENT]["department"] == "Maths"
    assert doc["displayName"] == "Augusta Ada" and "someMicrosoftExtra" not in doc


def test_a_filter_that_matches_nothing_creates_the_element() -> None:
    doc = patch(
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"}
    )
    assert doc["phoneNumbers"] == [{"type": "mobile", "value": "+1 555"}]


def test_remove_by_filter_and_by_sub_attribute() -> None:
    assert patch({"op": "remove", "path": 'emails[type eq "work"]'}).get("emails") == []
    doc = patch({"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert doc["emails"] == [{"value": "ada@x.example", "type": "work"}]
    assert patch({"op": "remove", "path": 'emails[type eq "home"]'})["emails"] == USER["emails"]


def test_name_as_an_object_merges_sub_attributes() -> None:
    doc = patch({"op": "replace", "path": "name", "value": {"familyName": "King"}})
    assert doc["name"] == {"givenName": "Ada", "familyName": "King"}


@pytest.mark.parametrize(
    "value", ["m1", {"value": "m1"}, [{"$ref": "https://x/Users/m1", "value": "m1"}]]
)
def test_manager_in_every_form(value: object) -> None:
    doc = patch({"op": "add", "path": f"{ENT}:manager", "value": value})
    assert doc[ENT]["manager"] == {"value": "m1"}


def test_password_and_read_only_extras_are_dropped() -> None:
    doc = patch(
        {"op": "replace", "path": "password", "value": "secret"},
        {"op": "replace", "value": {"id": "u1", "meta": {}, "groups": [], "password": "x"}},
    )
    assert "password" not in doc and doc["id"] == "u1"


def test_the_input_is_never_mutated_and_a_later_error_raises() -> None:
    before = copy.deepcopy(USER)
    with pytest.raises(PatchError) as e:
        patch(
            {"op": "replace", "path": "title", "value": "Boss"},
            {"op": "replace", "path": "displayName", "value": "X"},
            {"op": "replace", "path": "active", "value": "perhaps"},
        )
    assert e.value.scim_type == "invalidValue"
    assert USER == before


@pytest.mark.parametrize(
    ("ops", "scim_type"),
    [
        ([{"op": "remove"}], "noTarget"),
        ([{"op": "replace", "path": "nonsense", "value": 1}], "invalidPath"),
        ([{"op": "replace", "path": 'title[type eq "x"]', "value": 1}], "invalidPath"),
        ([{"op": "replace", "value": {"id": "someone-else"}}], "mutability"),
        ([{"op": "remove", "path": "userName"}], "mutability"),
        ([{"op": "replace", "path": "name", "value": "Ada"}], "invalidValue"),
        ([{"op": "replace", "path": 'emails[type eq "work"', "value": "x"}], "invalidPath"),
    ],
)
def test_bad_operations_name_their_scim_type(ops: list[dict[str, Any]], scim_type: str) -> None:
    with pytest.raises(PatchError) as e:
        patch(*ops)
    assert e.value.scim_type == scim_type


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        {"Operations": []},
        {"Operations": [{"op": "move"}]},
        {"schemas": ["x"], "Operations": [{"op": "add"}]},
    ],
)
def test_a_malformed_envelope_is_invalid_syntax(body: object) -> None:
    with pytest.raises(PatchError) as e:
        parse_patch(body)
    assert e.value.scim_type == "invalidSyntax"


def plan(*ops: dict[str, Any]) -> Any:
    return plan_group_patch(parse_patch({"Operations": list(ops)}))


def test_okta_group_membership_and_rename() -> None:
    p = plan(
        {"op": "replace", "value": {"id": "g1", "displayName": "Eng"}},
        {"op": "remove", "path": 'members[value eq "a"]'},
        {"op": "add", "path": "members", "value": [{"value": "b", "display": "b@x"}]},
    )
    assert p.attributes == {"id": "g1", "displayName": "Eng"}
    assert p.member_ops == [("remove", ["a"]), ("add", ["b"])]


def test_entra_group_shapes() -> None:
    assert plan({"op": "Remove", "path": "members", "value": [{"value": "a"}]}).member_ops == [
        ("remove", ["a"])
    ]
    assert plan({"op": "remove", "path": "members"}).member_ops == [("remove_all", [])]
    assert plan(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "c"}]}
    ).member_ops == [("add", ["c"])]
    assert plan({"op": "replace", "path": "members", "value": []}).member_ops == [("replace", [])]
    assert plan({"op": "remove", "path": 'members[value eq "a" or value eq "b"]'}).member_ops == [
        ("remove", ["a", "b"])
    ]


def test_nested_groups_are_refused() -> None:
    with pytest.raises(PatchError, match="Nested groups are not supported"):
        plan({"op": "add", "path": "members", "value": [{"value": "g2", "type": "Group"}]})
