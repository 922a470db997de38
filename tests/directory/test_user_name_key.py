from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from directory.errors import Conflict, InvalidValue
from directory.models import EndUser, Group, Org
from directory.names import user_name_key
from directory.services import (
    UserFields,
    group_create,
    group_update,
    user_create,
    user_update,
)
from tests.actors import OPERATOR


@pytest.mark.parametrize(
    "a, b",
    [
        ("İrem", "i̇rem"),
        ("ΣΊΣΥΦΟΣ", "σίσυφος"),
        ("Straße", "STRASSE"),
        ("ﬁle", "FILE"),
        ("Ａda", "ada"),
        ("e\u0301", "\u00e9"),
    ],
)
def test_equivalent_names_have_one_key(a: str, b: str) -> None:
    assert user_name_key(a) == user_name_key(b)


def test_distinct_names_keep_distinct_keys() -> None:
    assert user_name_key("ada@x") != user_name_key("adb@x")
    assert user_name_key("ı") != user_name_key("i")  # dotless i is its own letter


@given(st.text())
def test_the_key_of_a_key_is_the_key(text: str) -> None:
    key = user_name_key(text)
    assert user_name_key(key) == key
    assert unicodedata.is_normalized("NFKC", key)


@pytest.mark.django_db
def test_every_way_of_writing_a_user_stores_its_key(org: Org) -> None:
    made = EndUser.objects.create(org=org, user_name="Straße@x")
    EndUser.objects.bulk_create([EndUser(org=org, user_name="ΣΊΣΥΦΟΣ@x")])
    served = user_create(org=org, fields=UserFields(user_name="İrem@x"), actor=OPERATOR)
    keys = dict(org.users.values_list("user_name", "user_name_key"))
    assert keys == {
        "Straße@x": "strasse@x",
        "ΣΊΣΥΦΟΣ@x": "σίσυφοσ@x",
        "İrem@x": "i̇rem@x",
    }
    made.user_name = "Ａda@x"
    made.save()
    user_update(user=served, fields=UserFields(user_name="ﬁona@x"), actor=OPERATOR)
    assert set(org.users.values_list("user_name_key", flat=True)) == {
        "ada@x",
        "σίσυφοσ@x",
        "fiona@x",
    }


@pytest.mark.django_db
def test_the_service_refuses_an_equivalent_name(org: Org) -> None:
    user_create(org=org, fields=UserFields(user_name="ﬁona@x"), actor=OPERATOR)
    with pytest.raises(Conflict):
        user_create(org=org, fields=UserFields(user_name="FIONA@x"), actor=OPERATOR)


@pytest.mark.django_db
def test_a_name_too_long_once_folded_is_refused(org: Org) -> None:
    with pytest.raises(InvalidValue, match="case-folded"):
        user_create(org=org, fields=UserFields(user_name="\ufdfa" * 40), actor=OPERATOR)


def _collided(org: Org) -> tuple[EndUser, EndUser]:
    """Two users with one key, the newer without it, as migration 0009 leaves them."""
    holder = user_create(org=org, fields=UserFields(user_name="Straße@x"), actor=OPERATOR)
    other = user_create(org=org, fields=UserFields(user_name="other@x"), actor=OPERATOR)
    EndUser.objects.filter(pk=other.pk).update(user_name="STRASSE@x", user_name_key=None)
    other.refresh_from_db()
    return holder, other


@pytest.mark.django_db
def test_a_user_left_without_a_key_can_still_be_updated_and_deactivated(org: Org) -> None:
    holder, other = _collided(org)
    change = user_update(
        user=other,
        fields=UserFields(user_name="STRASSE@x", display_name="S", active=False),
        actor=OPERATOR,
    )
    stored = EndUser.objects.get(pk=other.pk)
    assert (stored.display_name, stored.active, stored.user_name_key) == ("S", False, None)
    assert change.user.user_name_key is None
    assert EndUser.objects.get(pk=holder.pk).user_name_key == "strasse@x"


@pytest.mark.django_db
def test_a_user_left_without_a_key_gets_it_once_free(org: Org) -> None:
    holder, other = _collided(org)
    user_create(org=org, fields=UserFields(user_name="ﬁona@x"), actor=OPERATOR)
    with pytest.raises(Conflict):
        user_update(user=other, fields=UserFields(user_name="FIONA@x"), actor=OPERATOR)
    assert EndUser.objects.get(pk=other.pk).user_name_key is None
    user_update(user=other, fields=UserFields(user_name="renamed@x"), actor=OPERATOR)
    assert EndUser.objects.get(pk=other.pk).user_name_key == "renamed@x"


@pytest.mark.django_db
def test_a_user_left_without_a_key_takes_it_after_the_holder_is_deleted(org: Org) -> None:
    holder, other = _collided(org)
    EndUser.objects.filter(pk=holder.pk).delete()
    user_update(user=other, fields=UserFields(user_name="STRASSE@x", title="back"), actor=OPERATOR)
    assert EndUser.objects.get(pk=other.pk).user_name_key == "strasse@x"


@pytest.mark.django_db
def test_filters_see_a_user_without_a_key_under_negations_only(org: Org) -> None:
    from scim.filters import filter_users

    holder, other = _collided(org)

    def ids(text: str) -> set[object]:
        return set(filter_users(org.users.all(), text).values_list("id", flat=True))

    assert ids('userName eq "strasse@x"') == {holder.id}
    assert ids('userName sw "str"') == {holder.id}
    assert ids('userName ne "strasse@x"') == {other.id}
    assert ids('not (userName sw "str")') == {other.id}
    assert ids("userName pr") == {holder.id, other.id}


@pytest.mark.django_db
def test_a_group_left_without_a_key_can_be_updated_and_takes_a_free_name(org: Org) -> None:
    holder = group_create(org=org, display_name="Straße", actor=OPERATOR)
    other = group_create(org=org, display_name="Other", actor=OPERATOR)
    Group.objects.filter(pk=other.pk).update(display_name="STRASSE", display_name_key=None)
    other.refresh_from_db()
    group_update(group=other, display_name="STRASSE", external_id="G-2", actor=OPERATOR)
    assert Group.objects.get(pk=other.pk).display_name_key is None
    group_update(group=holder, display_name="ﬁnance", actor=OPERATOR)
    with pytest.raises(Conflict):
        group_update(group=other, display_name="FINANCE", actor=OPERATOR)
    group_update(group=other, display_name="Renamed", actor=OPERATOR)
    assert Group.objects.get(pk=other.pk).display_name_key == "renamed"
