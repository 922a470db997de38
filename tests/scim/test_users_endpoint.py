from __future__ import annotations

import json
from typing import Any

from django.test import override_settings

from directory.models import EndUser, Org, ProvisioningEvent, ScimDirectory
from directory.services import org_deprovision_set
from tests.actors import OPERATOR
from tests.scim.conftest import ENTERPRISE, USER_SCHEMA, ScimClient, assert_scim_error, okta_user


def test_it_creates_a_user_as_okta_sends_it(scim: ScimClient, org: Org) -> None:
    r = scim.post("/Users", okta_user("Ada.Lovelace@acme.example"))
    assert r.status_code == 201
    doc = r.json()
    assert doc["schemas"] == [USER_SCHEMA]
    assert doc["userName"] == "Ada.Lovelace@acme.example"
    assert doc["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert doc["emails"] == [
        {"value": "Ada.Lovelace@acme.example", "type": "work", "primary": True}
    ]
    assert doc["active"] is True
    assert doc["externalId"] == "00u1abcd2EFGH3ijk4x7"
    assert "password" not in doc
    assert r["Location"] == doc["meta"]["location"]
    assert doc["meta"]["location"].endswith(f"/Users/{doc['id']}")
    assert r["ETag"] == doc["meta"]["version"]
    user = org.users.get()
    assert str(user.id) == doc["id"]
    assert user.source == "scim"


def test_it_never_stores_or_returns_the_password(scim: ScimClient, org: Org) -> None:
    scim.post("/Users", okta_user("pw@acme.example", password="Sup3rSecret!"))
    user = org.users.get()
    stored = json.dumps([str(getattr(user, f.attname)) for f in EndUser._meta.fields])
    assert "Sup3rSecret!" not in stored
    assert "Sup3rSecret!" not in scim.get(f"/Users/{user.id}").content.decode()


def test_it_accepts_entra_create_with_string_active_nulls_and_extras(scim: ScimClient) -> None:
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@contoso.com",
        "active": "True",
        "emails": [{"primary": True, "type": "work", "value": "Test_User@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
        "title": None,
        "addresses": None,
        ENTERPRISE: {"department": "Finance", "employeeNumber": "701984"},
    }
    r = scim.post("/Users", body)
    assert r.status_code == 201, r.content
    doc = r.json()
    assert doc["active"] is True
    assert doc[ENTERPRISE] == {"department": "Finance", "employeeNumber": "701984"}
    assert doc["schemas"] == [USER_SCHEMA, ENTERPRISE]
    assert "title" not in doc and "roles" not in doc


def test_a_duplicate_username_is_a_409_uniqueness_whatever_its_case(
    scim: ScimClient, org: Org
) -> None:
    assert scim.post("/Users", okta_user("dup@acme.example")).status_code == 201
    body = assert_scim_error(scim.post("/Users", okta_user("DUP@Acme.Example")), 409, "uniqueness")
    assert "already exists" in body["detail"]
    assert org.users.count() == 1
    failure = org.events.get(outcome="failure")
    assert failure.action == "user_create"
    assert failure.status_code == 409
    assert failure.resource_name == "DUP@Acme.Example"


def test_the_same_username_may_exist_in_two_orgs(scim: ScimClient, other_scim: ScimClient) -> None:
    assert scim.post("/Users", okta_user("same@x.example")).status_code == 201
    assert other_scim.post("/Users", okta_user("same@x.example")).status_code == 201


def test_it_refuses_a_user_without_username_and_creates_nothing(scim: ScimClient, org: Org) -> None:
    body = okta_user("x@acme.example")
    del body["userName"]
    assert_scim_error(scim.post("/Users", body), 400, "invalidValue")
    assert_scim_error(scim.post("/Users", {**body, "userName": "  "}), 400, "invalidValue")
    assert org.users.count() == 0


def test_malformed_json_is_a_400_invalid_syntax(scim: ScimClient, org: Org) -> None:
    assert_scim_error(scim.post("/Users", '{"userName": "a@b.c",'), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", "[1, 2]"), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", ""), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", "[" * 100_000), 400, "invalidSyntax")
    assert org.users.count() == 0


def test_a_wrongly_typed_attribute_is_a_400_invalid_value(scim: ScimClient) -> None:
    assert_scim_error(
        scim.post("/Users", okta_user("a@acme.example", active="maybe")), 400, "invalidValue"
    )
    assert_scim_error(
        scim.post("/Users", okta_user("a@acme.example", name="Ada")), 400, "invalidValue"
    )
    assert_scim_error(
        scim.post("/Users", okta_user("a@acme.example", emails="a@b")), 400, "invalidValue"
    )


@override_settings(SCIM_MAX_BODY_BYTES=2000, DATA_UPLOAD_MAX_MEMORY_SIZE=2000)
def test_a_body_over_the_limit_is_a_413(scim: ScimClient, org: Org) -> None:
    body = okta_user("big@acme.example", displayName="x" * 5000)
    assert_scim_error(scim.post("/Users", body), 413)
    assert org.users.count() == 0


def test_get_returns_the_user_and_404_for_unknown_ids(scim: ScimClient) -> None:
    created = scim.post("/Users", okta_user("get@acme.example")).json()
    r = scim.get(f"/Users/{created['id']}")
    assert r.status_code == 200
    assert r.json()["userName"] == "get@acme.example"
    body = assert_scim_error(scim.get("/Users/00919288221112222"), 404)
    assert "00919288221112222" in body["detail"]
    assert_scim_error(scim.get("/Users/6f1f1f3e-1111-4111-8111-111111111111"), 404)


def test_okta_profile_update_is_a_get_then_full_put_echoing_everything(
    scim: ScimClient, org: Org
) -> None:
    created = scim.post("/Users", okta_user("put@acme.example")).json()
    current = scim.get(f"/Users/{created['id']}").json()
    current["name"]["familyName"] = "Byron"
    current["title"] = "Analyst"
    current["password"] = "echoed-back"
    r = scim.put(f"/Users/{created['id']}", current)
    assert r.status_code == 200, r.content
    again = scim.get(f"/Users/{created['id']}").json()
    assert again["name"]["familyName"] == "Byron"
    assert again["title"] == "Analyst"
    assert again["meta"]["version"] != created["meta"]["version"]
    assert org.events.filter(action="user_update", outcome="success").count() == 1


def test_a_username_change_keeps_the_user_and_records_old_and_new(
    scim: ScimClient, org: Org
) -> None:
    created = scim.post("/Users", okta_user("old@acme.example")).json()
    r = scim.put(f"/Users/{created['id']}", {**created, "userName": "new@acme.example"})
    assert r.status_code == 200
    assert r.json()["id"] == created["id"]
    assert org.users.get().user_name == "new@acme.example"
    event = org.events.get(action="user_update")
    assert event.details["userName"] == {"old": "old@acme.example", "new": "new@acme.example"}


def test_a_username_change_onto_another_user_is_a_409(scim: ScimClient, org: Org) -> None:
    scim.post("/Users", okta_user("taken@acme.example"))
    mover = scim.post("/Users", okta_user("mover@acme.example")).json()
    r = scim.put(f"/Users/{mover['id']}", {**mover, "userName": "TAKEN@acme.example"})
    assert_scim_error(r, 409, "uniqueness")
    assert org.users.filter(user_name="mover@acme.example").exists()


def test_if_match_with_a_stale_version_is_a_412_and_changes_nothing(
    scim: ScimClient, org: Org
) -> None:
    created = scim.post("/Users", okta_user("etag@acme.example")).json()
    stale = created["meta"]["version"]
    assert (
        scim.put(
            f"/Users/{created['id']}", {**created, "title": "A"}, HTTP_IF_MATCH=stale
        ).status_code
        == 200
    )
    r = scim.put(f"/Users/{created['id']}", {**created, "title": "B"}, HTTP_IF_MATCH=stale)
    assert_scim_error(r, 412)
    r = scim.patch_ops(
        f"/Users/{created['id']}",
        {"op": "replace", "path": "title", "value": "C"},
        HTTP_IF_MATCH=stale,
    )
    assert_scim_error(r, 412)
    assert_scim_error(scim.delete(f"/Users/{created['id']}", HTTP_IF_MATCH=stale), 412)
    assert org.users.get().title == "A"


def test_if_none_match_with_the_current_version_is_a_304(scim: ScimClient) -> None:
    created = scim.post("/Users", okta_user("cache@acme.example")).json()
    r = scim.get(f"/Users/{created['id']}", HTTP_IF_NONE_MATCH=created["meta"]["version"])
    assert r.status_code == 304
    assert r["ETag"] == created["meta"]["version"]
    assert scim.get(f"/Users/{created['id']}", HTTP_IF_NONE_MATCH='W/"999"').status_code == 200


def test_okta_deactivation_is_a_pathless_patch_and_answers_the_user(
    scim: ScimClient, org: Org
) -> None:
    created = scim.post("/Users", okta_user("leaver@acme.example")).json()
    r = scim.patch_ops(f"/Users/{created['id']}", {"op": "replace", "value": {"active": False}})
    assert r.status_code == 200
    assert r.json()["active"] is False
    user = org.users.get()
    assert user.active is False and user.has_seat is False
    event = org.events.get(action="user_deactivate")
    assert event.outcome == ProvisioningEvent.Outcome.DISABLED


def test_entra_disable_with_a_string_boolean_works(scim: ScimClient, org: Org) -> None:
    created = scim.post("/Users", okta_user("entra@acme.example")).json()
    r = scim.patch_ops(
        f"/Users/{created['id']}", {"op": "Replace", "path": "active", "value": "False"}
    )
    assert r.status_code == 200
    assert org.users.get().active is False


def test_a_patch_is_all_or_nothing(scim: ScimClient, org: Org) -> None:
    created = scim.post("/Users", okta_user("atomic@acme.example")).json()
    r = scim.patch_ops(
        f"/Users/{created['id']}",
        {"op": "replace", "path": "title", "value": "Boss"},
        {"op": "replace", "path": "active", "value": "perhaps"},
    )
    assert r.status_code == 400
    assert org.users.get().title == ""


def test_patch_sets_enterprise_attributes_by_urn_path(scim: ScimClient, org: Org) -> None:
    created = scim.post("/Users", okta_user("urn@acme.example")).json()
    manager = scim.post("/Users", okta_user("boss@acme.example")).json()
    r = scim.patch_ops(
        f"/Users/{created['id']}",
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "42"},
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": manager["id"]},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "urn2@acme.example"},
    )
    assert r.status_code == 200, r.content
    doc = r.json()
    assert doc[ENTERPRISE]["employeeNumber"] == "42"
    assert doc[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert doc["emails"][0]["value"] == "urn2@acme.example"
    user = org.users.get(user_name="urn@acme.example")
    assert str(user.manager_id) == manager["id"]


def test_a_manager_from_another_org_is_refused(
    scim: ScimClient, other_scim: ScimClient, org: Org
) -> None:
    created = scim.post("/Users", okta_user("m@acme.example")).json()
    foreign = other_scim.post("/Users", okta_user("f@globex.example")).json()
    r = scim.patch_ops(
        f"/Users/{created['id']}",
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": foreign["id"]},
    )
    assert_scim_error(r, 400, "invalidValue")
    assert org.users.get().manager_id is None


def test_delete_under_the_disable_policy_keeps_the_user_disabled_and_hides_it(
    scim: ScimClient, org: Org
) -> None:
    created = scim.post("/Users", okta_user("del@acme.example")).json()
    assert scim.delete(f"/Users/{created['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Users/{created['id']}"), 404)
    user = org.users.get()
    assert user.active is False and user.removed_by_idp_at is not None
    assert scim.get("/Users").json()["totalResults"] == 0


def test_delete_under_the_delete_policy_removes_the_user(
    scim: ScimClient, org: Org, directory: ScimDirectory
) -> None:
    org_deprovision_set(org=org, deprovision="delete", actor=OPERATOR)
    created = scim.post("/Users", okta_user("gone@acme.example")).json()
    assert scim.delete(f"/Users/{created['id']}").status_code == 204
    assert org.users.count() == 0
    assert_scim_error(scim.delete(f"/Users/{created['id']}"), 404)


def test_a_user_deleted_by_the_idp_comes_back_when_posted_again(scim: ScimClient, org: Org) -> None:
    created = scim.post("/Users", okta_user("back@acme.example")).json()
    scim.delete(f"/Users/{created['id']}")
    again = scim.post("/Users", okta_user("back@acme.example"))
    assert again.status_code == 201
    assert again.json()["id"] == created["id"]
    assert org.users.get().active is True


def test_users_list_pages_are_stable_and_counted(scim: ScimClient) -> None:
    ids = [scim.post("/Users", okta_user(f"u{i}@acme.example")).json()["id"] for i in range(7)]
    first = scim.get("/Users?startIndex=1&count=3").json()
    second = scim.get("/Users?startIndex=4&count=3").json()
    third = scim.get("/Users?startIndex=7&count=3").json()
    assert [first["totalResults"], first["itemsPerPage"], first["startIndex"]] == [7, 3, 1]
    seen = [u["id"] for page in (first, second, third) for u in page["Resources"]]
    assert seen == ids
    assert scim.get("/Users?count=0").json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 7,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


@override_settings(SCIM_MAX_PAGE_SIZE=2)
def test_count_is_capped(scim: ScimClient) -> None:
    for i in range(3):
        scim.post("/Users", okta_user(f"cap{i}@acme.example"))
    assert scim.get("/Users?count=500").json()["itemsPerPage"] == 2


def test_bad_paging_values_are_a_400(scim: ScimClient) -> None:
    assert_scim_error(scim.get("/Users?count=ten"), 400, "invalidValue")


def test_sort_by_username_descending(scim: ScimClient) -> None:
    for name in ("b@x.example", "c@x.example", "a@x.example"):
        scim.post("/Users", okta_user(name))
    doc = scim.get("/Users?sortBy=userName&sortOrder=descending").json()
    assert [u["userName"] for u in doc["Resources"]] == [
        "c@x.example",
        "b@x.example",
        "a@x.example",
    ]


def test_attributes_and_excluded_attributes_shape_the_response(scim: ScimClient) -> None:
    created = scim.post("/Users", okta_user("shape@acme.example")).json()
    doc = scim.get(f"/Users/{created['id']}?attributes=userName,name.givenName").json()
    assert doc == {
        "schemas": [USER_SCHEMA],
        "id": created["id"],
        "userName": "shape@acme.example",
        "name": {"givenName": "Ada"},
    }
    doc = scim.get(f"/Users/{created['id']}?excludedAttributes=emails,meta").json()
    assert "emails" not in doc and "meta" not in doc and doc["userName"] == "shape@acme.example"


def test_okta_filter_lookup_finds_a_user_case_insensitively(scim: ScimClient) -> None:
    scim.post("/Users", okta_user("Runscope123Abcdefghi123@atko.com"))
    r = scim.get(
        "/Users?filter=userName%20eq%20%22RUNSCOPE123ABCDEFGHI123%40ATKO.COM%22&startIndex=1&count=100"
    )
    doc = r.json()
    assert doc["totalResults"] == 1
    assert doc["Resources"][0]["userName"] == "Runscope123Abcdefghi123@atko.com"


def test_the_username_lookup_sees_only_this_orgs_visible_users(
    scim: ScimClient, other_scim: ScimClient
) -> None:
    # The lookup an IdP sends before each create has a fast path of its own; it answers
    # exactly what the general filter does.
    theirs = other_scim.post("/Users", okta_user("shared@acme.example")).json()
    ours = scim.post("/Users", okta_user("shared@acme.example")).json()
    gone = scim.post("/Users", okta_user("gone@acme.example")).json()
    scim.delete(f"/Users/{gone['id']}")  # the "disable" policy keeps it, hidden from SCIM

    def lookup(client: ScimClient, name: str, extra: str = "") -> Any:
        return client.get(f'/Users?filter=userName eq "{name}"{extra}').json()

    assert [u["id"] for u in lookup(scim, "SHARED@acme.example")["Resources"]] == [ours["id"]]
    assert [u["id"] for u in lookup(other_scim, "shared@ACME.example")["Resources"]] == [
        theirs["id"]
    ]
    assert lookup(scim, "gone@acme.example")["totalResults"] == 0
    assert lookup(scim, "shared@acme.example", "&attributes=userName")["Resources"] == [
        {"schemas": [USER_SCHEMA], "id": ours["id"], "userName": "shared@acme.example"}
    ]
    past = lookup(scim, "shared@acme.example", "&startIndex=2")
    assert (past["totalResults"], past["itemsPerPage"], past["Resources"]) == (1, 0, [])
    counted = lookup(scim, "shared@acme.example", "&count=0")
    assert (counted["totalResults"], counted["Resources"]) == (1, [])
    assert_scim_error(
        scim.get('/Users?filter=userName eq "shared@acme.example"&sortBy=shoeSize'),
        400,
        "invalidFilter",
    )


def test_entra_filter_with_plus_for_spaces_finds_nothing_for_a_random_guid(
    scim: ScimClient,
) -> None:
    r = scim.get("/Users?filter=userName+eq+%22a6f7b2c5-9c57-4a59-a2d6-2e5a7f8a1c11%22")
    assert r.status_code == 200
    assert r.json()["totalResults"] == 0 and r.json()["Resources"] == []


def test_an_invalid_filter_is_a_400_invalid_filter(scim: ScimClient, org: Org) -> None:
    assert_scim_error(scim.get("/Users?filter=userName%20eq"), 400, "invalidFilter")
    assert_scim_error(scim.get('/Users?filter=shoeSize%20eq%20"9"'), 400, "invalidFilter")
    failures = org.events.filter(outcome="failure")
    assert [e.status_code for e in failures] == [400, 400]
    assert "shoeSize" in failures.order_by("id").last().message  # type: ignore[union-attr]


def test_search_by_post_accepts_a_search_request(scim: ScimClient) -> None:
    scim.post("/Users", okta_user("s1@acme.example"))
    scim.post("/Users", okta_user("s2@acme.example"))
    r = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "s2"',
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10,
        },
    )
    assert r.status_code == 200
    assert [u["userName"] for u in r.json()["Resources"]] == ["s2@acme.example"]


def test_users_show_their_groups_read_only(scim: ScimClient) -> None:
    user = scim.post("/Users", okta_user("member@acme.example")).json()
    group = scim.post(
        "/Groups", {"displayName": "Engineering", "members": [{"value": user["id"]}]}
    ).json()
    doc = scim.get(f"/Users/{user['id']}").json()
    assert doc["groups"] == [
        {"value": group["id"], "display": "Engineering", "$ref": group["meta"]["location"]}
    ]
