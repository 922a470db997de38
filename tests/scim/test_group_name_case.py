from __future__ import annotations

import json
from typing import Any

import pytest

from directory.models import Org
from directory.services import group_create, org_access_groups_set
from tests.actors import OPERATOR
from tests.scim.conftest import GROUP_SCHEMA, ScimClient, assert_scim_error, okta_user

EQUIVALENT = [
    pytest.param("Straße", "STRASSE", id="sharp-s"),
    pytest.param("İK", "i̇k", id="dotted-capital-I"),
    pytest.param("ΣΥΝΕΡΓΑΣΙΑ", "συνεργασια", id="final-sigma"),
    pytest.param("ﬁnance", "FINANCE", id="fi-ligature"),
    pytest.param("Ｓales", "sales", id="full-width"),
]


@pytest.fixture(autouse=True)
def _unthrottled(settings: Any) -> None:
    # Hundreds of requests a second: the rate limits have their own tests.
    settings.SCIM_RATE_PER_TOKEN = settings.SCIM_RATE_PER_ORG = 10**9


def _group(name: str) -> dict[str, Any]:
    return {"schemas": [GROUP_SCHEMA], "displayName": name, "members": []}


def _find(scim: ScimClient, name: str) -> list[str]:
    r = scim.get("/Groups", {"filter": "displayName eq " + json.dumps(name)})
    assert r.status_code == 200, r.content
    return [g["id"] for g in r.json()["Resources"]]


@pytest.mark.parametrize("first, second", EQUIVALENT)
def test_an_equivalent_group_name_is_taken_and_finds_the_first(
    scim: ScimClient, first: str, second: str
) -> None:
    created = scim.post("/Groups", _group(first)).json()
    assert_scim_error(scim.post("/Groups", _group(second)), 409, "uniqueness")
    assert _find(scim, second) == [created["id"]]


@pytest.mark.parametrize("first, second", EQUIVALENT)
def test_renaming_a_group_to_an_equivalent_of_another_is_a_conflict(
    scim: ScimClient, first: str, second: str
) -> None:
    scim.post("/Groups", _group(first))
    other = scim.post("/Groups", _group("Other")).json()
    r = scim.patch_ops(
        f"/Groups/{other['id']}", {"op": "replace", "path": "displayName", "value": second}
    )
    assert_scim_error(r, 409, "uniqueness")
    own = scim.patch_ops(
        f"/Groups/{other['id']}", {"op": "replace", "path": "displayName", "value": "OTHER"}
    )
    assert own.status_code in (200, 204), own.content


def test_a_console_group_of_an_equivalent_name_is_taken_over(scim: ScimClient, org: Org) -> None:
    made = group_create(org=org, display_name="Straße", actor=OPERATOR)
    pushed = scim.post("/Groups", _group("STRASSE"))
    assert pushed.status_code == 201, pushed.content
    assert pushed.json()["id"] == str(made.id)


def test_users_filter_on_group_names_by_the_same_rule(scim: ScimClient) -> None:
    user = scim.post("/Users", okta_user("ada@acme.example")).json()
    scim.post("/Groups", {**_group("ﬁnance"), "members": [{"value": user["id"]}]})
    r = scim.get("/Users", {"filter": 'groups.display eq "FINANCE"'})
    assert [u["id"] for u in r.json()["Resources"]] == [user["id"]]


def test_access_groups_are_named_by_the_same_rule(scim: ScimClient, org: Org) -> None:
    scim.post("/Groups", _group("Straße"))
    groups = org_access_groups_set(org=org, names=["STRASSE"], actor=OPERATOR)
    assert [g.display_name for g in groups] == ["Straße"]
    assert [g.display_name for g in org.access_groups.all()] == ["Straße"]
