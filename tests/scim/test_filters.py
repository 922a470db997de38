"""The SCIM filter engine: grammar, errors, and SQL behaviour inside one org."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from directory.models import EndUser, Group, Membership, Org, UserEmail
from scim.filters import (
    And,
    Compare,
    FilterError,
    Not,
    Or,
    Present,
    ValuePath,
    filter_groups,
    filter_users,
    matches,
    parse_filter,
    user_sort_key,
)

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_and_binds_tighter_than_or() -> None:
    node = parse_filter('userName eq "a" or title eq "b" and active eq true')
    assert node == Or(
        Compare("userName", "eq", "a"),
        And(Compare("title", "eq", "b"), Compare("active", "eq", True)),
    )


def test_parentheses_and_not_change_the_grouping() -> None:
    node = parse_filter('not (userName eq "a" or title pr) and active eq false')
    assert node == And(
        Not(Or(Compare("userName", "eq", "a"), Present("title"))), Compare("active", "eq", False)
    )


def test_value_paths_and_entras_sub_attribute_form() -> None:
    assert parse_filter('emails[type eq "work" and value co "@x"]') == ValuePath(
        "emails", And(Compare("type", "eq", "work"), Compare("value", "co", "@x"))
    )
    assert parse_filter('emails[type eq "work"].value eq "a@x"') == ValuePath(
        "emails", Compare("type", "eq", "work"), Compare("value", "eq", "a@x")
    )


def test_operators_are_case_insensitive_and_values_are_json() -> None:
    node = parse_filter(
        'userName EQ "Ada \\"The\\" \\u00e9" OR meta.lastModified GT "2026-01-01T00:00:00Z"'
    )
    assert node == Or(
        Compare("userName", "eq", 'Ada "The" é'),
        Compare("meta.lastModified", "gt", "2026-01-01T00:00:00Z"),
    )
    assert parse_filter("x eq 12345678901234567890") == Compare("x", "eq", 12345678901234567890)
    assert parse_filter("x eq -1.5e3") == Compare("x", "eq", -1500.0)
    assert parse_filter("x eq null") == Compare("x", "eq", None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "userName",
        "userName eq",
        'userName eq "a" and',
        'userName eq "a" trailing',
        'userName foo "a"',
        '(userName eq "a"',
        'emails[type eq "work"',
        'userName eq "unterminated',
        "userName eq bareword",
        "eq eq eq",
        "userName eq 'single'",
        "(" * 60 + 'userName eq "a"' + ")" * 60,
        'userName eq "' + "a" * 5000 + '"',
        'userName eq "a" ; DROP TABLE directory_enduser',
    ],
)
def test_malformed_filters_are_refused(text: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(text)


def test_matches_evaluates_a_filter_against_a_dict() -> None:
    item = {"type": "Work", "value": "Ada@X.example", "primary": True}
    assert matches(parse_filter('type eq "work" and value ew "@x.example"'), item)
    assert matches(parse_filter('primary eq true and not (type eq "home")'), item)
    assert not matches(parse_filter('type eq "home" or value sw "bob"'), item)
    assert matches(parse_filter("display pr or value pr"), item)


@pytest.fixture
def people(org: Org, other_org: Org) -> dict[str, EndUser]:
    def make(o: Org, name: str, **fields: object) -> EndUser:
        user = EndUser.objects.create(org=o, user_name=name, **fields)
        UserEmail.objects.create(user=user, org=o, value=name, type="work", primary=True)
        return user

    users = {
        "ada": make(
            org, "Ada@Acme.example", title="Engineer", external_id="EXT-1", department="R&D"
        ),
        "bob": make(org, "bob@acme.example", title="Sales", active=False, external_id="ext-2"),
        "pct": make(org, "100%_done@acme.example", title="50% off"),
        "eve": make(other_org, "eve@globex.example", title="Engineer"),
    }
    UserEmail.objects.create(user=users["ada"], org=org, value="ada@home.example", type="home")
    users["bob"].manager = users["ada"]
    users["bob"].save()
    return users


def _names(org: Org, text: str) -> set[str]:
    return set(filter_users(org.users.all(), text).values_list("user_name", flat=True))


def test_every_operator_on_strings(org: Org, people: dict[str, EndUser]) -> None:
    assert _names(org, 'userName eq "ada@acme.example"') == {"Ada@Acme.example"}
    assert _names(org, 'userName ne "ada@acme.example"') == {
        "bob@acme.example",
        "100%_done@acme.example",
    }
    assert _names(org, 'userName co "ACME"') == {
        "Ada@Acme.example",
        "bob@acme.example",
        "100%_done@acme.example",
    }
    assert _names(org, 'userName sw "B"') == {"bob@acme.example"}
    assert _names(org, 'userName ew ".EXAMPLE"') == _names(org, "userName pr")
    assert _names(org, 'userName gt "b"') == {"bob@acme.example"}
    assert _names(org, 'userName le "a"') == {"100%_done@acme.example"}
    assert _names(org, 'title pr and not (title eq "sales")') == {
        "Ada@Acme.example",
        "100%_done@acme.example",
    }


def test_percent_and_underscore_match_literally(org: Org, people: dict[str, EndUser]) -> None:
    assert _names(org, 'userName sw "100%_"') == {"100%_done@acme.example"}
    assert _names(org, 'userName co "%"') == {"100%_done@acme.example"}
    assert _names(org, 'userName co "_"') == {"100%_done@acme.example"}
    assert _names(org, 'title co "0% o"') == {"100%_done@acme.example"}


def test_external_id_is_case_exact_and_username_is_not(
    org: Org, people: dict[str, EndUser]
) -> None:
    assert _names(org, 'externalId eq "ext-1"') == set()
    assert _names(org, 'externalId eq "EXT-1"') == {"Ada@Acme.example"}
    assert _names(org, 'USERNAME eq "BOB@ACME.EXAMPLE"') == {"bob@acme.example"}


def test_booleans_ids_dates_and_the_enterprise_extension(
    org: Org, people: dict[str, EndUser]
) -> None:
    ada, bob = people["ada"], people["bob"]
    assert _names(org, "active eq false") == {"bob@acme.example"}
    assert _names(org, 'active eq "True"') == {"Ada@Acme.example", "100%_done@acme.example"}
    assert _names(org, f'id eq "{ada.id}"') == {"Ada@Acme.example"}
    assert _names(org, 'id eq "not-a-uuid"') == set()
    assert _names(org, f'{ENT}:department eq "r&d"') == {"Ada@Acme.example"}
    assert _names(org, f'{ENT}:manager.value eq "{ada.id}"') == {"bob@acme.example"}
    assert _names(org, "manager pr") == {bob.user_name}
    since = (timezone.now() - timedelta(minutes=5)).isoformat()
    assert len(_names(org, f'meta.created gt "{since}"')) == 3
    assert _names(org, 'meta.created lt "2000-01-01T00:00:00Z"') == set()
    assert _names(org, 'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ada"') == {
        "Ada@Acme.example"
    }


def test_email_filters_need_both_conditions_on_one_email(
    org: Org, people: dict[str, EndUser]
) -> None:
    assert _names(org, 'emails[type eq "work" and value sw "ada@home"]') == set()
    assert _names(org, 'emails[type eq "home" and value sw "ada@home"]') == {"Ada@Acme.example"}
    assert _names(org, 'emails[type eq "work"].value eq "BOB@acme.example"') == {"bob@acme.example"}
    assert _names(org, 'emails eq "ada@home.example"') == {"Ada@Acme.example"}
    assert _names(org, 'emails.type eq "home"') == {"Ada@Acme.example"}


def test_a_filter_never_reaches_another_org(
    org: Org, other_org: Org, people: dict[str, EndUser]
) -> None:
    assert "eve@globex.example" not in _names(
        org, 'userName eq "eve@globex.example" or userName pr'
    )
    assert _names(org, 'title eq "engineer"') == {"Ada@Acme.example"}
    assert _names(other_org, 'title eq "engineer"') == {"eve@globex.example"}


@pytest.mark.parametrize(
    "text",
    [
        'shoeSize eq "9"',
        'phoneNumbers.value eq "1"',
        'userName eq "a" and emails.value eq "nomatch" and nickName.x eq "1"',
        "active gt true",
        'active eq "maybe"',
        "userName eq 5",
        'meta.created gt "yesterday"',
        'id co "abc"',
        'title[type eq "x"]',
        'emails[value eq "a"][type eq "b"]',
    ],
)
def test_unmapped_attributes_and_wrong_types_are_refused_not_ignored(
    org: Org, people: dict[str, EndUser], text: str
) -> None:
    with pytest.raises(FilterError):
        _names(org, text)


def test_username_equality_uses_the_lower_index(org: Org) -> None:
    sql = str(filter_users(org.users.all(), 'userName eq "Ada@x"').query)
    assert 'LOWER("directory_enduser"."user_name") = ada@x' in sql


def test_group_filters_on_display_name_and_members(org: Org, people: dict[str, EndUser]) -> None:
    eng = Group.objects.create(org=org, display_name="Engineering")
    Group.objects.create(org=org, display_name="Sales")
    Membership.objects.create(group=eng, user=people["ada"])
    groups = org.groups.all()

    def names(text: str) -> set[str]:
        return set(filter_groups(groups, text).values_list("display_name", flat=True))

    assert names('displayName eq "engineering"') == {"Engineering"}
    assert names(f'members[value eq "{people["ada"].id}"]') == {"Engineering"}
    assert names("not (members pr)") == {"Sales"}
    with pytest.raises(FilterError):
        names('members.display eq "x" and owner eq "y"')


def test_sort_keys_are_known_attributes_only() -> None:
    assert user_sort_key("meta.created") == "created_at"
    with pytest.raises(FilterError):
        user_sort_key("password")
