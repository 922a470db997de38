"""The console's user search: substring matches on userName, names and any email, within
one org, the same whether the search is narrow (read through the indexes) or broad
(one OR over the org's users)."""

from __future__ import annotations

import pytest

from directory import selectors
from directory.models import Org
from directory.selectors import user_list
from directory.services import UserFields, user_create
from tests.actors import OPERATOR


@pytest.fixture(params=["narrow", "broad"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    # With no room for candidates every search with a match takes the broad path.
    if request.param == "broad":
        monkeypatch.setattr(selectors, "SEARCH_NARROW", 0)
    return str(request.param)


def _found(org: Org, q: str) -> set[str]:
    return {u.user_name.split("@")[0] for u in user_list(org=org, q=q)}


def test_search_matches_parts_of_every_searched_field(path: str, org: Org, other_org: Org) -> None:
    user_create(
        org=org,
        fields=UserFields(
            user_name="ada@acme.example",
            display_name="Countess of Lovelace",
            given_name="Augusta",
            family_name="King",
            emails=[
                {"value": "ada@acme.example", "type": "work", "primary": True},
                {"value": "numbers@home.example", "type": "home"},
            ],
        ),
        actor=OPERATOR,
    )
    user_create(
        org=org,
        fields=UserFields(user_name="alan@acme.example", family_name="Turing"),
        actor=OPERATOR,
    )
    user_create(
        org=other_org, fields=UserFields(user_name="ada-lookalike@globex.example"), actor=OPERATOR
    )

    assert _found(org, "ADA") == {"ada"}  # case-insensitive; not the other org's ada
    assert _found(org, "countess") == {"ada"}  # display name
    assert _found(org, "aug") == {"ada"}  # given name
    assert _found(org, "king") == {"ada"}  # family name
    assert _found(org, "numbers@") == {"ada"}  # a second email, listed once
    assert _found(org, "a") == {"ada", "alan"}  # matched by two fields, listed once
    assert _found(org, "tur") == {"alan"}
    assert _found(org, "uring") == {"alan"}  # the middle of a name
    assert _found(org, "@home.EXAMPLE") == {"ada"}  # an email's domain
    assert _found(org, "acme.example") == {"ada", "alan"}
    assert _found(org, "ada@home") == set()  # within one field, not across two
    assert _found(org, "50%") == set()  # LIKE wildcards are literal
    assert _found(other_org, "ada") == {"ada-lookalike"}


def test_a_search_with_more_candidates_than_the_narrow_limit_finds_them_all(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "SEARCH_NARROW", 3)
    for n in range(5):
        user_create(org=org, fields=UserFields(user_name=f"sam{n}@acme.example"), actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="other@acme.example"), actor=OPERATOR)

    assert _found(org, "sam") == {f"sam{n}" for n in range(5)}
    assert _found(org, "sam3") == {"sam3"}
