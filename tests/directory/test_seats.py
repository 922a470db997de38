from __future__ import annotations

import pytest

from directory.audit import Actor
from directory.errors import LimitReached
from directory.models import ChangeEvent, EndUser, Org
from directory.services import (
    UserFields,
    org_update,
    seat_assign,
    seat_revoke,
    user_create,
    user_delete,
    user_update,
)
from tests.actors import OPERATOR


def _user(org: Org, name: str, **fields: object) -> EndUser:
    return user_create(org=org, fields=UserFields(user_name=name, **fields), actor=OPERATOR)  # type: ignore[arg-type]


def _seated(org: Org) -> set[str]:
    return set(org.users.filter(has_seat=True).values_list("user_name", flat=True))


@pytest.fixture
def small_org(org: Org) -> Org:
    return org_update(org=org, seats=2)


def test_active_users_get_seats_until_none_are_left(small_org: Org) -> None:
    a, _, c = (_user(small_org, name) for name in ("a", "b", "c"))
    assert _seated(small_org) == {"a", "b"}
    # What the create returns says the same as the database.
    assert a.has_seat and a.seat_changed_at is not None
    assert not c.has_seat and c.seat_changed_at is None
    c.refresh_from_db()
    assert not c.has_seat and c.seat_changed_at is None
    small_org.refresh_from_db()
    assert small_org.seats_used == 2
    no_seat = small_org.events.get(resource_name="c")
    assert no_seat.details == {"no_seat": True}
    assert "No seat" in no_seat.message
    # Its change feed says it was created without a seat, and nothing else.
    changes = ChangeEvent.objects.filter(resource_id=c.pk)
    assert [e.type for e in changes] == ["user.created"]
    assert changes[0].data["object"]["hasSeat"] is False
    assert ChangeEvent.objects.filter(resource_id=a.pk, type="seat.assigned").count() == 1


def test_a_disabled_user_frees_its_seat_for_the_longest_waiting_user(small_org: Org) -> None:
    a = _user(small_org, "a")
    _user(small_org, "b")
    _user(small_org, "c")
    _user(small_org, "d")
    user_update(user=a, fields=UserFields(user_name="a", active=False), actor=OPERATOR)
    assert _seated(small_org) == {"b", "c"}
    small_org.refresh_from_db()
    assert small_org.seats_used == 2


def test_a_deleted_user_frees_its_seat(small_org: Org) -> None:
    a = _user(small_org, "a")
    _user(small_org, "b")
    user_delete(user=a, actor=Actor(who="alice@acme.example"))
    small_org.refresh_from_db()
    assert small_org.seats_used == 1
    assert _seated(small_org) == {"b"}
    assert small_org.events.filter(action="user_delete", message__contains="alice").exists()


def test_an_inactive_user_takes_no_seat(small_org: Org) -> None:
    _user(small_org, "sleeper", active=False)
    assert _seated(small_org) == set()


def test_an_admin_moves_a_seat_from_one_user_to_another(small_org: Org) -> None:
    a = _user(small_org, "a")
    _user(small_org, "b")
    c = _user(small_org, "c")
    with pytest.raises(LimitReached):
        seat_assign(user=c, actor=OPERATOR)
    seat_revoke(user=a, actor=OPERATOR)
    seat_assign(user=c, actor=OPERATOR)
    assert _seated(small_org) == {"b", "c"}
