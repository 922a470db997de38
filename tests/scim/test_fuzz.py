"""Property-based tests (Hypothesis) of the SCIM endpoint: generated filters, PATCH bodies,
resources, headers and query strings, valid and broken. Never a 5xx, every error in SCIM
Error shape, and a valid resource reads back as it was written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.models import Org, ScimDirectory
from tests.conftest import examples
from tests.scim.conftest import ScimClient
from tokens.services import token_issue

FUZZ = settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ATTRIBUTES = [
    "userName", "displayName", "title", "active", "emails", "emails.value", "name.givenName",
    "externalId", "meta.created", "id", "members", "groups", "nonsense", "urn:x:y",
]  # fmt: skip
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx"]
# What hostile or buggy clients put in strings: letters of every case rule (with the pairs
# lower() and casefold() disagree on), controls (NUL), lone UTF-16 surrogates (which only
# a JSON escape can carry), symbols.
hostile_chars = st.one_of(
    st.characters(categories=["Lu", "Ll", "Lt", "Lo", "Nd", "Po", "Zs", "Cc", "Cs", "So"]),
    st.sampled_from(["\x00", "\ud800", "\udfff", "İ", "ı", "ß", "ẞ", "Σ", "ς", "ﬁ", "Ａ", "K"]),
)
hostile_text = st.text(alphabet=hostile_chars, max_size=30)
# A query string carries no lone surrogate (it is UTF-8): a client writes its escape.
query_text = hostile_text.map(lambda t: t.encode("utf-8", "backslashreplace").decode())
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()  # NaN and ±Infinity included: json.dumps writes them as bare words
    | st.sampled_from([1e308, -1e308, 5e-324])
    | hostile_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture
def fuzz_client(directory: ScimDirectory, settings: Any) -> ScimClient:
    # Thousands of requests a second: the rate limits have their own tests.
    settings.SCIM_RATE_PER_TOKEN = settings.SCIM_RATE_PER_ORG = 10**9
    return ScimClient(directory, token_issue(directory=directory).plaintext)


def assert_scim_answer(response: Any) -> None:
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"].startswith("application/scim+json")
    if response.status_code >= 400:
        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["status"] == str(response.status_code) and isinstance(body["detail"], str)


@st.composite
def filters(draw: Any, depth: int = 0) -> str:
    if depth < 2 and draw(st.booleans()):
        left, right = draw(filters(depth + 1)), draw(filters(depth + 1))
        joiner = draw(st.sampled_from(["and", "or", "AND", "Or", "and not", "((", ")"]))
        return (
            f"{left} {joiner} {right}" if joiner not in ("((", ")") else f"({left} {joiner} {right}"
        )
    attr = draw(st.sampled_from(ATTRIBUTES))
    op = draw(st.sampled_from(OPERATORS))
    value = draw(
        st.one_of(
            hostile_text.map(json.dumps),
            st.sampled_from(["true", "null", "12", "x", '"%_"', "1e400", "-1e999", "9" * 400]),
        )
    )
    if draw(st.integers(0, 5)) == 0:
        return f'{attr}[type eq {value}].value {op} "x"'
    return f"{attr} {op}" if op == "pr" else f"{attr} {op} {value}"


@FUZZ
@given(text=st.one_of(filters(), query_text))
def test_any_filter_gets_a_list_or_a_scim_error(fuzz_client: ScimClient, text: str) -> None:
    for resource in ("/Users", "/Groups"):
        assert_scim_answer(fuzz_client.get(resource, {"filter": text, "count": "5"}))


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes", "x"]
        ),
        st.one_of(st.text(max_size=15), st.integers(-5, 10**12).map(str)),
        max_size=5,
    )
)
def test_any_query_string_gets_a_list_or_a_scim_error(
    fuzz_client: ScimClient, params: dict[str, str]
) -> None:
    assert_scim_answer(fuzz_client.get("/Users", params))


@FUZZ
@given(
    ops=st.lists(
        st.fixed_dictionaries(
            {"op": st.sampled_from(["add", "Replace", "remove", "move", ""])},
            optional={
                "path": st.one_of(
                    st.sampled_from(
                        [
                            "active",
                            "name.givenName",
                            'emails[type eq "work"].value',
                            "displayName",
                            "members",
                            "userName",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                        ]
                    ),
                    st.text(max_size=25),
                ),
                "value": json_values,
            },
        ),
        max_size=4,
    ),
    envelope=st.sampled_from(["ok", "noschema", "raw"]),
)
def test_any_patch_gets_an_answer_and_a_failed_one_changes_nothing(
    fuzz_client: ScimClient, org: Org, ops: list[dict[str, Any]], envelope: str
) -> None:
    user = org.users.filter(user_name="fuzz@acme.example").first()
    if user is None:
        user_id = fuzz_client.post("/Users", {"userName": "fuzz@acme.example"}).json()["id"]
        user = org.users.get(id=user_id)
    before = fuzz_client.get(f"/Users/{user.id}").json()
    body: Any = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}
    if envelope == "noschema":
        body = {"Operations": ops}
    elif envelope == "raw":
        body = ops
    r = fuzz_client.patch(f"/Users/{user.id}", body)
    assert_scim_answer(r)
    if r.status_code >= 400:
        after = fuzz_client.get(f"/Users/{user.id}")
        if after.status_code == 200:
            assert after.json() == before


names = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=40)


@FUZZ
@given(
    user_name=names,
    display=st.one_of(st.none(), names),
    active=st.sampled_from([True, False, "True", "false", None]),
    title=st.one_of(st.none(), names),
    extra=st.dictionaries(st.one_of(st.text(max_size=10), hostile_text), json_values, max_size=3),
)
def test_a_valid_user_reads_back_as_written(
    fuzz_client: ScimClient,
    org: Org,
    user_name: str,
    display: Any,
    active: Any,
    title: Any,
    extra: dict[str, Any],
) -> None:
    body = {
        **extra,
        "userName": user_name,
        "displayName": display,
        "active": active,
        "title": title,
    }
    r = fuzz_client.post("/Users", body)
    assert_scim_answer(r)
    if r.status_code == 201:
        got = fuzz_client.get(f"/Users/{r.json()['id']}").json()
        assert got == r.json()
        assert got["userName"] == user_name.strip()
        if display:
            assert got["displayName"] == display
        fuzz_client.delete(f"/Users/{r.json()['id']}")
        org.users.filter(id=r.json()["id"]).delete()


@FUZZ
@given(
    raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
    content_type=st.sampled_from(
        [
            "application/scim+json",
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
        ]
    ),
    auth=st.sampled_from(["ok", "bare", "none", "garbage"]),
)
def test_any_body_and_headers_get_a_scim_answer(
    fuzz_client: ScimClient, directory: ScimDirectory, raw: bytes, content_type: str, auth: str
) -> None:
    from django.test import Client

    token = fuzz_client.client.defaults["HTTP_AUTHORIZATION"]
    headers = {
        "ok": token,
        "bare": token.removeprefix("Bearer "),
        "none": None,
        "garbage": "Bearer \x00%%",
    }[auth]
    client = Client(HTTP_AUTHORIZATION=headers) if headers is not None else Client()
    r = client.post(f"/scim/v2/{directory.id}/Users", data=raw, content_type=content_type)
    assert_scim_answer(r)


ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@FUZZ
@given(
    user_name=names,
    strings=st.dictionaries(
        st.sampled_from(["displayName", "externalId", "title", "nickName", "userType", "locale"]),
        hostile_text,
        max_size=4,
    ),
    given_name=hostile_text,
    department=hostile_text,
)
def test_hostile_strings_in_a_user_get_an_answer_and_nothing_is_half_stored(
    fuzz_client: ScimClient,
    org: Org,
    user_name: str,
    strings: dict[str, str],
    given_name: str,
    department: str,
) -> None:
    body = {
        "userName": user_name,
        **strings,
        "name": {"givenName": given_name},
        ENTERPRISE_URN: {"department": department},
    }
    r = fuzz_client.post("/Users", body)
    try:
        assert_scim_answer(r)
        if r.status_code == 201:
            got = fuzz_client.get(f"/Users/{r.json()['id']}").json()
            assert got == r.json()
            assert got.get("name", {}).get("givenName", "") == given_name
        else:
            assert not org.users.exists()
    finally:
        org.users.all().delete()  # the examples share one database


@FUZZ
@given(
    attr=st.sampled_from(["userName", "displayName", "externalId", "title", "emails.value"]),
    op=st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "le"]),
    value=hostile_text,
)
def test_any_string_in_a_filter_gets_a_list_or_a_scim_error(
    fuzz_client: ScimClient, attr: str, op: str, value: str
) -> None:
    text = f"{attr} {op} {json.dumps(value)}"  # json.dumps writes a lone surrogate as \udXXX
    assert_scim_answer(fuzz_client.get("/Users", {"filter": text}))
    assert_scim_answer(
        fuzz_client.get("/Groups", {"filter": f"displayName {op} {json.dumps(value)}"})
    )
