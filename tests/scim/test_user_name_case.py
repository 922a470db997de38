from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.models import Org
from directory.names import user_name_key
from directory.services import org_deprovision_set
from tests.actors import OPERATOR
from tests.conftest import examples
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user


@pytest.fixture(autouse=True)
def _unthrottled(settings: Any) -> None:
    # Hundreds of requests a second: the rate limits have their own tests.
    settings.SCIM_RATE_PER_TOKEN = settings.SCIM_RATE_PER_ORG = 10**9


# Pairs that Python's lower() and SQL's LOWER() used to fold differently.
EQUIVALENT = [
    pytest.param("İrem@acme.example", "i̇rem@acme.example", id="dotted-capital-I"),
    pytest.param("ΣΊΣΥΦΟΣ@acme.example", "σίσυφος@acme.example", id="final-sigma"),
    pytest.param("Σοφία@acme.example", "ςοφία@acme.example", id="sigma-forms"),
    pytest.param("STRASSE@acme.example", "straße@acme.example", id="sharp-s-SS"),
    pytest.param("strasse@acme.example", "STRAẞE@acme.example", id="sharp-s-capital"),
    pytest.param("ﬁnance@acme.example", "FINANCE@acme.example", id="fi-ligature"),
    pytest.param("Ａda@acme.example", "ada@acme.example", id="full-width"),
    pytest.param("Ｂｏｂ＠ａｃｍｅ.example", "bob@acme.example", id="full-width-at"),
    pytest.param("Ǆemal@acme.example", "ǆemal@acme.example", id="dz-digraph"),
    pytest.param("K-kelvin@acme.example", "k-kelvin@acme.example", id="kelvin-sign"),
]


def _find(scim: ScimClient, name: str) -> list[dict[str, Any]]:
    r = scim.get("/Users", {"filter": "userName eq " + json.dumps(name)})
    assert r.status_code == 200, r.content
    return r.json()["Resources"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("first, second", EQUIVALENT)
@pytest.mark.parametrize("policy", ["delete", "disable"])
def test_a_user_deleted_by_the_idp_can_be_provisioned_again(
    scim: ScimClient, org: Org, first: str, second: str, policy: str
) -> None:
    org_deprovision_set(org=org, deprovision=policy, actor=OPERATOR)
    for name in (first, second):
        created = scim.post("/Users", okta_user(name))
        assert created.status_code == 201, created.content
        assert scim.delete(f"/Users/{created.json()['id']}").status_code == 204
        assert _find(scim, name) == []
        again = scim.post("/Users", okta_user(name))
        assert again.status_code == 201, again.content
        assert _find(scim, name)[0]["id"] == again.json()["id"]
        assert scim.delete(f"/Users/{again.json()['id']}").status_code == 204


@pytest.mark.parametrize("first, second", EQUIVALENT)
def test_an_equivalent_user_name_is_taken_and_finds_the_first(
    scim: ScimClient, org: Org, first: str, second: str
) -> None:
    created = scim.post("/Users", okta_user(first)).json()
    assert_scim_error(scim.post("/Users", okta_user(second)), 409, "uniqueness")
    assert [u["id"] for u in _find(scim, second)] == [created["id"]]
    assert [u["userName"] for u in _find(scim, first)] == [first]
    assert org.users.count() == 1


@pytest.mark.parametrize("first, second", EQUIVALENT)
def test_renaming_to_an_equivalent_of_another_users_name_is_a_conflict(
    scim: ScimClient, org: Org, first: str, second: str
) -> None:
    scim.post("/Users", okta_user(first))
    other = scim.post("/Users", okta_user("someone-else@acme.example")).json()
    r = scim.patch_ops(
        f"/Users/{other['id']}", {"op": "replace", "path": "userName", "value": second}
    )
    assert_scim_error(r, 409, "uniqueness")
    put = scim.put(f"/Users/{other['id']}", {**other, "userName": second})
    assert_scim_error(put, 409, "uniqueness")
    assert scim.get(f"/Users/{other['id']}").json()["userName"] == "someone-else@acme.example"


@pytest.mark.parametrize("first, second", EQUIVALENT)
def test_a_user_may_change_the_case_of_its_own_name(
    scim: ScimClient, org: Org, first: str, second: str
) -> None:
    created = scim.post("/Users", okta_user(first)).json()
    r = scim.patch_ops(
        f"/Users/{created['id']}", {"op": "replace", "path": "userName", "value": second}
    )
    assert r.status_code in (200, 204), r.content
    assert [u["userName"] for u in _find(scim, first)] == [second]


def test_the_same_names_in_another_org_are_separate(
    scim: ScimClient, other_scim: ScimClient
) -> None:
    assert scim.post("/Users", okta_user("İrem@acme.example")).status_code == 201
    assert other_scim.post("/Users", okta_user("i̇rem@acme.example")).status_code == 201
    assert [u["userName"] for u in _find(other_scim, "İREM@acme.example")] == ["i̇rem@acme.example"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ('userName sw "STRASSE"', {"straße@acme.example"}),
        ('userName co "ＦＩ"', {"ﬁnance@acme.example"}),
        ('userName ew "@ACME.EXAMPLE" and userName sw "σί"', {"ΣΊΣΥΦΟΣ@acme.example"}),
        ('userName ne "SISYPHOS@acme.example"', None),
        (
            'not (userName eq "straSSe@acme.example")',
            {"ﬁnance@acme.example", "ΣΊΣΥΦΟΣ@acme.example"},
        ),
        ('userName gt "s" and userName lt "t"', {"straße@acme.example"}),
        (
            'userName ge "ﬁnance@acme.example" and userName le "finance@acme.example"',
            {"ﬁnance@acme.example"},
        ),
    ],
)
def test_user_name_filters_compare_by_the_same_rule(
    scim: ScimClient, text: str, expected: set[str] | None
) -> None:
    names = {"straße@acme.example", "ﬁnance@acme.example", "ΣΊΣΥΦΟΣ@acme.example"}
    for name in names:
        assert scim.post("/Users", okta_user(name)).status_code == 201
    r = scim.get("/Users", {"filter": text})
    assert r.status_code == 200, r.content
    assert {u["userName"] for u in r.json()["Resources"]} == (
        names if expected is None else expected
    )


_TRICKY = "aAiIİıi̇ßSsẞΣσςﬁﬂﬃＡａＩｉKkǄǅǆµΜμﬆé\u0301e.@-_0１"
NAMES = st.text(
    alphabet=st.one_of(
        st.sampled_from(_TRICKY),
        st.characters(categories=["Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Mn"]),
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s == s.strip())


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=NAMES, second=NAMES)
def test_conflict_lookup_and_key_agree_for_any_two_names(
    scim: ScimClient, org: Org, first: str, second: str
) -> None:
    org.users.all().delete()
    created = scim.post("/Users", okta_user(first))
    assert created.status_code == 201, created.content
    again = scim.post("/Users", okta_user(second))
    assert again.status_code in (201, 409), again.content
    conflict = again.status_code == 409
    finds_first = [u["id"] for u in _find(scim, second)] == [created.json()["id"]]
    assert conflict == finds_first == (user_name_key(first) == user_name_key(second))
