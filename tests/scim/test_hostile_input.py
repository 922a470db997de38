"""Inputs a buggy or hostile IdP can send, by class: strings no database can store,
search bodies of the wrong JSON types, numbers out of range, other charsets, chunked
bodies, booleans and ETag lists. Each gets a SCIM answer (never a 5xx, never HTML), and
a refused request changes nothing."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from directory.models import EndUser, Group, Org, ScimDirectory
from directory.services import org_deprovision_set
from tests.actors import OPERATOR
from tests.scim.conftest import (
    ENTERPRISE,
    PATCH_OP,
    SCIM_JSON,
    ScimClient,
    assert_scim_error,
    okta_user,
)

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
# Lone UTF-16 surrogates and NUL, as JSON escapes (the only way they reach a body).
UNSTORABLE = [r"\ud800", r"\udfff", r"a\u0000b"]


def _raw_user(field_json: str) -> str:
    """A user body with one extra member written as raw JSON text (escapes kept)."""
    base = json.dumps(okta_user("ada@acme.example"))
    return base[:-1] + ", " + field_json + "}"


@pytest.fixture
def user(scim: ScimClient) -> dict[str, Any]:
    r = scim.post("/Users", okta_user("ada@acme.example"))
    assert r.status_code == 201
    return r.json()  # type: ignore[no-any-return]


# Strings no database can store ---------------------------------------------------------


@pytest.mark.parametrize("escape", UNSTORABLE)
@pytest.mark.parametrize(
    "member",
    [
        '"displayName": "{}"',
        '"externalId": "{}"',
        '"title": "{}"',
        '"name": {{"givenName": "{}"}}',
        f'"{ENTERPRISE}": {{{{"department": "{{}}"}}}}',
        '"nickName{}": "x"',  # in an attribute name too
    ],
)
def test_a_user_post_with_an_unstorable_string_is_a_400_and_stores_nothing(
    scim: ScimClient, org: Org, escape: str, member: str
) -> None:
    body = _raw_user(member.format(escape))
    body_doc = assert_scim_error(scim.post("/Users", body), 400, "invalidValue")
    assert "cannot be stored" in body_doc["detail"]
    assert not org.users.exists()


@pytest.mark.parametrize("escape", UNSTORABLE)
def test_put_and_patch_with_unstorable_strings_are_400s_and_change_nothing(
    scim: ScimClient, user: dict[str, Any], escape: str
) -> None:
    path = f"/Users/{user['id']}"
    put = json.dumps(okta_user("ada@acme.example"))[:-1] + f', "title": "{escape}"}}'
    assert_scim_error(scim.put(path, put), 400, "invalidValue")
    patch = (
        f'{{"schemas": ["{PATCH_OP}"], "Operations": '
        f'[{{"op": "replace", "path": "name.familyName", "value": "{escape}"}}]}}'
    )
    assert_scim_error(scim.patch(path, patch), 400, "invalidValue")
    after = scim.get(path).json()
    assert after["name"]["familyName"] == "Lovelace" and after["meta"] == user["meta"]


@pytest.mark.parametrize("escape", UNSTORABLE)
def test_group_bodies_with_unstorable_strings_are_400s(
    scim: ScimClient, user: dict[str, Any], org: Org, escape: str
) -> None:
    for body in (
        f'{{"displayName": "{escape}"}}',
        f'{{"displayName": "Eng", "externalId": "{escape}"}}',
        f'{{"displayName": "Eng", "members": [{{"value": "{escape}"}}]}}',
    ):
        assert_scim_error(scim.post("/Groups", body), 400, "invalidValue")
    assert not org.groups.exists()


@pytest.mark.parametrize(
    "filter_text",
    [
        r'userName eq "\ud800"',
        r'displayName co "\udfff"',
        r'externalId sw "a\u0000"',
        r'emails[value eq "\ud800"]',
    ],
)
def test_filters_with_unstorable_values_are_400s(
    scim: ScimClient, user: dict[str, Any], filter_text: str
) -> None:
    assert_scim_error(scim.get("/Users", {"filter": filter_text}), 400)
    search = json.dumps({"schemas": [SEARCH]})[:-1] + ', "filter": "'
    search += filter_text.replace('"', '\\"') + '"}'
    assert_scim_error(scim.post("/Users/.search", search), 400)


def test_a_group_filter_with_an_unstorable_value_is_a_400(scim: ScimClient) -> None:
    assert_scim_error(scim.get("/Groups", {"filter": r'displayName eq "\udfff"'}), 400)


def test_an_emoji_as_a_surrogate_pair_is_stored(scim: ScimClient) -> None:
    body = _raw_user(r'"title": "On call \ud83d\udcdf"')
    r = scim.post("/Users", body)
    assert r.status_code == 201, r.content
    assert r.json()["title"] == "On call \U0001f4df"


def test_a_nul_in_the_console_and_api_search_finds_nobody(
    client: Any, admin: Any, org: Org, user: dict[str, Any]
) -> None:
    client.force_login(admin)
    listed = re.compile(r'/users/[0-9a-f-]{36}/">ada@acme\.example</a>')
    assert listed.search(client.get("/o/acme/users/", {"q": "ada"}).content.decode())
    page = client.get("/o/acme/users/", {"q": "ada\x00"})
    assert page.status_code == 200 and not listed.search(page.content.decode())
    api = client.get("/api/v1/orgs/acme/users/", {"q": "\x00"})
    assert api.status_code == 200 and api.json()["results"] == []


# Search bodies -------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ('{"schemas": 5}', "invalidSyntax"),
        ('{"schemas": "urn:x"}', "invalidSyntax"),
        (f'{{"schemas": ["{SEARCH}"], "count": 1e400}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "startIndex": -1e400}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "count": true}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "count": 2.5}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "count": [1]}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "filter": 5}}', "invalidFilter"),
        (f'{{"schemas": ["{SEARCH}"], "sortBy": {{}}}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "attributes": 5}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "excludedAttributes": [1]}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "count": NaN}}', "invalidValue"),
        (f'{{"schemas": ["{SEARCH}"], "startIndex": Infinity}}', "invalidValue"),
        ("[]", "invalidSyntax"),
    ],
)
def test_search_bodies_of_the_wrong_types_are_400s(
    scim: ScimClient, resource: str, body: str, scim_type: str
) -> None:
    assert_scim_error(scim.post(f"/{resource}/.search", body), 400, scim_type)


@pytest.mark.parametrize("start", ["99999999999999999999999999999999", "1" + "0" * 4000])
def test_a_start_index_past_any_end_reads_an_empty_page(
    scim: ScimClient, user: dict[str, Any], start: str
) -> None:
    for r in (
        scim.get("/Users", {"startIndex": start}),
        scim.post("/Users/.search", f'{{"schemas": ["{SEARCH}"], "startIndex": {start}}}'),
    ):
        assert r.status_code == 200, r.content
        assert r.json()["totalResults"] == 1 and r.json()["Resources"] == []


def test_a_count_of_more_digits_than_python_reads_is_a_400(scim: ScimClient) -> None:
    assert_scim_error(scim.get("/Users", {"count": "9" * 5000}), 400, "invalidValue")


# Numbers, charsets and bodies ----------------------------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_no_value_can_hold_are_refused(scim: ScimClient, org: Org, number: str) -> None:
    assert_scim_error(scim.post("/Users", _raw_user(f'"title": {number}')), 400, "invalidValue")
    assert not org.users.exists()


def _raw(scim: ScimClient, path: str, body: bytes, content_type: str, **extra: Any) -> Any:
    """A POST of exactly these bytes (the test client's post() would re-encode them)."""
    return scim.client.generic("POST", scim.url(path), body, content_type=content_type, **extra)


def test_a_latin_1_body_is_read_in_its_charset(scim: ScimClient) -> None:
    body = json.dumps(okta_user("jose@acme.example", given="José"), ensure_ascii=False)
    r = _raw(scim, "/Users", body.encode("iso-8859-1"), f"{SCIM_JSON}; charset=ISO-8859-1")
    assert r.status_code == 201, r.content
    assert r.json()["name"]["givenName"] == "José"


def test_an_unknown_charset_is_a_415(scim: ScimClient) -> None:
    assert_scim_error(_raw(scim, "/Users", b"{}", f"{SCIM_JSON}; charset=klingon"), 415)


def test_a_body_not_in_its_charset_is_a_400(scim: ScimClient) -> None:
    assert_scim_error(
        _raw(scim, "/Users", b'{"userName": "\xff"}', SCIM_JSON), 400, "invalidSyntax"
    )


def _chunked(scim: ScimClient, body: bytes, *, terminated: bool = True) -> Any:
    """A POST /Users as a server that decoded a chunked body hands it on: no
    Content-Length, and (gunicorn) a stream that ends where the body does."""
    extra: dict[str, Any] = {
        "CONTENT_TYPE": SCIM_JSON,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
    }
    if terminated:
        extra["wsgi.input_terminated"] = True
    return scim.client.generic("POST", scim.url("/Users"), b"", **extra)


def test_a_chunked_body_is_read(scim: ScimClient, org: Org) -> None:
    r = _chunked(scim, json.dumps(okta_user("chunk@acme.example")).encode())
    assert r.status_code == 201, r.content
    assert org.users.get().user_name == "chunk@acme.example"


def test_a_chunked_body_over_the_limit_is_a_413(scim: ScimClient, org: Org, settings: Any) -> None:
    settings.SCIM_MAX_BODY_BYTES = 1000
    body = json.dumps(okta_user("big@acme.example", title="x" * 2000)).encode()
    assert_scim_error(_chunked(scim, body), 413)
    assert not org.users.exists()


def test_a_chunked_body_a_server_cannot_end_is_a_411(scim: ScimClient) -> None:
    assert_scim_error(_chunked(scim, b"{}", terminated=False), 411)


# One meaning per value -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "no", 1, "1", 0, "maybe", [True]])
def test_a_boolean_that_is_no_boolean_is_refused_by_post_put_and_patch_alike(
    scim: ScimClient, user: dict[str, Any], value: Any
) -> None:
    post = okta_user("grace@acme.example", active=value)
    assert_scim_error(scim.post("/Users", post), 400, "invalidValue")
    path = f"/Users/{user['id']}"
    assert_scim_error(
        scim.put(path, okta_user("ada@acme.example", active=value)), 400, "invalidValue"
    )
    r = scim.patch_ops(path, {"op": "replace", "value": {"active": value}})
    assert_scim_error(r, 400, "invalidValue")
    assert scim.get(path).json()["active"] is True


@pytest.mark.parametrize("value", ["True", "false", " TRUE "])
def test_entras_boolean_strings_mean_the_same_everywhere(
    scim: ScimClient, value: str, org: Org
) -> None:
    expected = value.strip().lower() == "true"
    r = scim.post("/Users", okta_user("grace@acme.example", active=value))
    assert r.status_code == 201 and r.json()["active"] is expected
    r = scim.patch_ops(
        f"/Users/{r.json()['id']}", {"op": "replace", "path": "active", "value": value}
    )
    assert r.status_code == 200 and r.json()["active"] is expected


def _tag(doc: dict[str, Any]) -> str:
    return str(doc["meta"]["version"])


def test_if_match_with_several_tags_matches_any_of_them(
    scim: ScimClient, user: dict[str, Any]
) -> None:
    path = f"/Users/{user['id']}"
    current = _tag(user)
    stale = 'W/"12345"'
    r = scim.patch_ops(
        path,
        {"op": "replace", "path": "title", "value": "CTO"},
        HTTP_IF_MATCH=f"{stale}, {current}",
    )
    assert r.status_code == 200, r.content
    # The tag matched before is stale now: neither of these is current.
    r = scim.patch_ops(
        path,
        {"op": "replace", "path": "title", "value": "CEO"},
        HTTP_IF_MATCH=f"{stale}, {current}",
    )
    assert_scim_error(r, 412)
    now = scim.get(path).json()
    assert now["title"] == "CTO"
    put = scim.put(path, okta_user("ada@acme.example"), HTTP_IF_MATCH=f"{stale}, {_tag(now)}")
    assert put.status_code == 200, put.content
    group = scim.post("/Groups", {"displayName": "Eng"}).json()
    r = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "replace", "path": "displayName", "value": "Engineering"},
        HTTP_IF_MATCH=f'W/"999", {_tag(group)}',
    )
    assert r.status_code == 200, r.content
    r = scim.delete(f"/Groups/{group['id']}", HTTP_IF_MATCH=f'W/"999", {_tag(group)}')
    assert_scim_error(r, 412)  # the rename moved the group on
    renamed = scim.get(f"/Groups/{group['id']}").json()
    deleted = scim.delete(f"/Groups/{group['id']}", HTTP_IF_MATCH=f'W/"999", {_tag(renamed)}')
    assert deleted.status_code == 204


# Integrity errors under races ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at a real COMMIT
def test_a_member_deleted_while_a_patch_adds_it_is_a_clear_400_and_nothing_changes(
    scim: ScimClient, org: Org, directory: ScimDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    org_deprovision_set(org=org, deprovision="delete", actor=OPERATOR)
    ada = scim.post("/Users", okta_user("ada@acme.example")).json()
    bob = scim.post("/Users", okta_user("bob@acme.example")).json()
    group = scim.post("/Groups", {"displayName": "Eng", "members": [{"value": ada["id"]}]}).json()
    from directory.services import groups

    check = groups._member_ids_check

    def check_then_lose_bob(**kwargs: Any) -> None:
        check(**kwargs)
        EndUser.objects.filter(id=bob["id"]).delete()  # the concurrent DELETE commits now

    monkeypatch.setattr(groups, "_member_ids_check", check_then_lose_bob)
    r = scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": bob["id"]}]}
    )
    body = assert_scim_error(r, 400, "invalidValue")
    assert "deleted while this request ran" in body["detail"]
    assert "named" not in body["detail"]
    assert set(Group.objects.get(id=group["id"]).memberships.values_list("user_id", flat=True)) == {
        EndUser.objects.get(id=ada["id"]).id
    }
    assert scim.get(f"/Groups/{group['id']}").json()["meta"] == group["meta"]
