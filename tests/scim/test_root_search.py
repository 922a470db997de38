"""POST /.search at the Base URL: one SearchRequest over Users and Groups (RFC 7644
§3.4.3), inside the token's org only."""

from __future__ import annotations

from typing import Any

from tests.scim.conftest import ScimClient, assert_scim_error, okta_user

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _search(scim: ScimClient, **params: Any) -> Any:
    return scim.post("/.search", {"schemas": [SEARCH], **params})


def _kinds(doc: dict[str, Any]) -> list[str]:
    return [r["meta"]["resourceType"] for r in doc["Resources"]]


def test_a_root_search_finds_users_and_groups_and_never_another_orgs(
    scim: ScimClient, other_scim: ScimClient
) -> None:
    for name in ("ada", "bob"):
        scim.post("/Users", okta_user(f"{name}@acme.example", given=name.title()))
    scim.post("/Groups", {"displayName": "Ada's team"})
    other_scim.post("/Users", okta_user("ada@globex.example", given="Ada"))
    other_scim.post("/Groups", {"displayName": "Ada fans"})

    everything = _search(scim)
    assert everything.status_code == 200, everything.content
    assert everything.json()["totalResults"] == 3
    assert _kinds(everything.json()) == ["User", "User", "Group"]

    # displayName is an attribute of both types: the filter applies to each.
    named = _search(scim, filter='displayName sw "Ada"').json()
    assert named["totalResults"] == 2 and _kinds(named) == ["User", "Group"]
    assert all("globex" not in str(r) for r in named["Resources"])

    # userName only describes users, members only groups.
    assert _kinds(_search(scim, filter='userName eq "bob@acme.example"').json()) == ["User"]
    assert _kinds(_search(scim, filter="members pr").json()) == []


def test_a_root_search_pages_across_the_two_types(scim: ScimClient) -> None:
    for i in range(3):
        scim.post("/Users", okta_user(f"u{i}@acme.example"))
    for name in ("Eng", "Ops"):
        scim.post("/Groups", {"displayName": name})
    pages = [_search(scim, startIndex=start, count=2).json() for start in (1, 3, 5)]
    assert [p["totalResults"] for p in pages] == [5, 5, 5]
    assert [_kinds(p) for p in pages] == [["User", "User"], ["User", "Group"], ["Group"]]
    assert [p["startIndex"] for p in pages] == [1, 3, 5]
    seen = [r["id"] for p in pages for r in p["Resources"]]
    assert len(set(seen)) == 5


def test_a_root_search_sorts_each_type_that_has_the_attribute(scim: ScimClient) -> None:
    for name in ("bob", "ada"):
        scim.post("/Users", okta_user(f"{name}@acme.example"))
    scim.post("/Groups", {"displayName": "Eng"})
    doc = _search(scim, sortBy="userName").json()
    assert [r.get("userName") for r in doc["Resources"]] == [
        "ada@acme.example",
        "bob@acme.example",
        None,
    ]


def test_a_root_search_refuses_what_describes_no_type(scim: ScimClient) -> None:
    assert_scim_error(_search(scim, filter='nonsense eq "x"'), 400, "invalidFilter")
    assert_scim_error(scim.post("/.search", {"schemas": 5}), 400, "invalidSyntax")
    r = scim.get("/.search")
    assert_scim_error(r, 405)
