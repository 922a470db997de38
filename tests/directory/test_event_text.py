from __future__ import annotations

import dataclasses

from directory.event_text import event_summary, field_label
from directory.models import Org, ProvisioningEvent
from directory.services import UserFields, event_record, group_create, group_update, user_create
from directory.services.users import user_update
from tests.actors import OPERATOR


def _event(org: Org, action: str, details: dict[str, object], message: str = "") -> str:
    event = event_record(
        org=org,
        action=action,
        outcome="success",
        details=details,
        message=message,
        actor=OPERATOR,
    )
    return event_summary(event)


def test_it_says_how_many_members_were_added_and_removed(org: Org) -> None:
    assert _event(org, "group_members", {"added": 1000, "removed": 0}) == (
        "Added 1,000 members, removed 0"
    )
    assert _event(org, "group_members", {"added": 1, "removed": 2}) == ("Added 1 member, removed 2")
    assert _event(org, "group_create", {"added": 3}) == "Added 3 members"


def test_it_names_changed_fields_by_their_labels(org: Org) -> None:
    assert _event(org, "user_update", {"changed": ["family_name", "title"]}) == (
        "Changed family name, title"
    )
    assert field_label("phone_numbers") == "phone numbers"
    assert field_label("department") == "department"


def test_it_says_a_user_name_change_from_old_to_new(org: Org) -> None:
    text = _event(
        org,
        "user_update",
        {"changed": ["user_name", "title"], "userName": {"old": "a@x", "new": "b@x"}},
    )
    assert text == "Changed title; userName changed from a@x to b@x"
    assert _event(org, "user_update", {"changed": [], "userName": {"old": "a", "new": "b"}}) == (
        "userName changed from a to b"
    )


def test_it_keeps_the_message_after_the_details(org: Org) -> None:
    text = _event(
        org,
        "group_create",
        {"takeover": True, "added": 2},
        message="Took over the existing manual group of the same name",
    )
    assert text == "Added 2 members. Took over the existing manual group of the same name"
    assert _event(org, "user_create", {}, message="No seat left for this user") == (
        "No seat left for this user"
    )
    assert _event(org, "user_create", {}) == ""
    assert _event(org, "user_update", {"changed": []}) == "Nothing changed"


def test_it_reads_what_the_services_record(org: Org) -> None:
    user = user_create(
        org=org, fields=UserFields(user_name="ann@acme.example", title="Eng"), actor=OPERATOR
    )
    fields = UserFields(user_name="ann@acme.example", family_name="Lee", title="Lead")
    user_update(user=user, fields=fields, actor=OPERATOR)
    moved = dataclasses.replace(fields, user_name="ann.lee@acme.example")
    user_update(user=user, fields=moved, actor=OPERATOR)
    group = group_create(org=org, display_name="Sales", actor=OPERATOR)
    group_update(group=group, member_ops=[("add", [str(user.id)])], actor=OPERATOR)
    group_update(group=group, display_name="Sales EU", actor=OPERATOR)
    texts = [
        event_summary(e)
        for e in org.events.exclude(action=ProvisioningEvent.Action.USER_CREATE).order_by("id")
    ]
    assert texts == [
        "Changed family name, title",
        "userName changed from ann@acme.example to ann.lee@acme.example",
        "",
        "Added 1 member, removed 0",
        "displayName changed from Sales to Sales EU",
    ]
