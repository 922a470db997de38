"""Which changes of the directory are change events, each in the transaction of its
change: a change that rolls back leaves none."""

from __future__ import annotations

import pytest
from django.db import transaction

from directory.models import ChangeEvent, EndUser, Org
from directory.services import (
    UserFields,
    group_create,
    group_delete,
    group_update,
    org_access_groups_set,
    scim_directory_delete,
    scim_disable,
    scim_enable,
    seat_assign,
    seat_revoke,
    user_create,
    user_delete,
    user_update,
)
from directory.services.signin import Identity, signin
from tests.actors import OPERATOR
from tests.signin.conftest import make_ready


def _types(org: Org) -> list[str]:
    return list(org.changes.order_by("txid", "id").values_list("type", flat=True))


def _user(org: Org, name: str, **extra: object) -> EndUser:
    return user_create(org=org, fields=UserFields(user_name=name, **extra), actor=OPERATOR)  # type: ignore[arg-type]


def test_a_users_life_is_a_change_event_each_time(org: Org) -> None:
    ada = _user(org, "ada@acme.example")
    user_update(
        user=ada, fields=UserFields(user_name="ada@acme.example", title="CTO"), actor=OPERATOR
    )
    user_update(
        user=ada, fields=UserFields(user_name="ada@acme.example", title="CTO"), actor=OPERATOR
    )
    user_update(
        user=EndUser.objects.get(pk=ada.pk),
        fields=UserFields(user_name="ada@acme.example", title="CTO", active=False),
        actor=OPERATOR,
    )
    user_update(
        user=EndUser.objects.get(pk=ada.pk),
        fields=UserFields(user_name="ada@acme.example", title="CTO", active=True),
        actor=OPERATOR,
    )
    assert _types(org) == [
        "user.created",
        "seat.assigned",
        "user.updated",  # the second, identical update changed nothing: no event
        "seat.freed",
        "user.deactivated",
        "user.reactivated",
        "seat.assigned",
    ]
    updated = org.changes.get(type="user.updated")
    assert updated.data["changed"] == ["title"] and updated.data["object"]["title"] == "CTO"
    deactivated = org.changes.get(type="user.deactivated")
    assert deactivated.data["object"]["active"] is False


def test_a_freed_seat_goes_to_the_waiting_user_with_its_event(org: Org) -> None:
    Org.objects.filter(pk=org.pk).update(seats=1)
    org.refresh_from_db()
    ada = _user(org, "ada@acme.example")
    bob = _user(org, "bob@acme.example")  # no seat left
    seat_revoke(user=ada, actor=OPERATOR)
    seat_assign(user=bob, actor=OPERATOR)
    user_delete(user=EndUser.objects.get(pk=bob.pk), actor=OPERATOR)
    types = [(c.type, str(c.resource_id)) for c in org.changes.order_by("txid", "id")]
    assert types == [
        ("user.created", str(ada.pk)),
        ("seat.assigned", str(ada.pk)),
        ("user.created", str(bob.pk)),
        ("seat.freed", str(ada.pk)),
        ("seat.assigned", str(bob.pk)),
        ("seat.freed", str(bob.pk)),
        ("seat.assigned", str(ada.pk)),  # the longest-waiting active user
        ("user.deleted", str(bob.pk)),
    ]


def test_groups_members_and_access_are_change_events(org: Org) -> None:
    ada = _user(org, "ada@acme.example")
    bob = _user(org, "bob@acme.example")
    eng = group_create(
        org=org, display_name="Engineering", member_ids=[str(ada.pk)], actor=OPERATOR
    )
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    group_update(group=eng, display_name="Eng", member_ops=[("add", [str(bob.pk)])], actor=OPERATOR)
    group_update(group=eng, member_ops=[("replace", [str(bob.pk)])], actor=OPERATOR)
    group_delete(group=eng, actor=OPERATOR)
    changes = list(org.changes.order_by("txid", "id"))[4:]
    assert [
        (c.type, c.data.get("userIds") or c.data["object"].get("userName")) for c in changes
    ] == [
        ("group.created", None),
        ("group.members_added", [str(ada.pk)]),
        ("access.denied", "bob@acme.example"),
        ("group.updated", None),
        ("group.members_added", [str(bob.pk)]),
        ("access.granted", "bob@acme.example"),
        ("group.members_removed", [str(ada.pk)]),
        ("access.denied", "ada@acme.example"),
        ("group.deleted", None),
        ("access.granted", "ada@acme.example"),  # no access group left: nobody restricted
    ]
    assert changes[3].data["changed"] == ["displayName"]
    assert changes[3].data["object"]["displayName"] == "Eng"


def test_the_scim_directory_and_sign_ins_are_change_events(org: Org) -> None:
    make_ready(org)
    scim_enable(org=org, actor=OPERATOR)
    scim_disable(org=org, actor=OPERATOR)
    scim_enable(org=org, actor=OPERATOR)
    scim_directory_delete(org=org, actor=OPERATOR)
    _user(org, "carol@acme.example")
    signin(org=org, identity=Identity("00u-carol", "carol@acme.example"), protocol="saml")
    signin(org=org, identity=Identity("00u-eve", "eve@acme.example"), protocol="saml")
    assert _types(org) == [
        "directory.enabled",
        "directory.disabled",
        "directory.enabled",
        "directory.deleted",
        "user.created",
        "seat.assigned",
        "signin.succeeded",
        "signin.failed",
    ]
    failed = org.changes.get(type="signin.failed")
    assert failed.resource_id is None and failed.data["userName"] == "eve@acme.example"
    assert failed.data["reason"] == "USER_NOT_PROVISIONED"


def test_a_change_that_rolls_back_leaves_no_event(org: Org) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        _user(org, "ada@acme.example")
        raise RuntimeError("the request failed after the write")
    assert not ChangeEvent.objects.exists()
