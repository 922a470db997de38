from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from directory.models import Org
from directory.services import (
    UserFields,
    event_record,
    group_create,
    group_update,
    user_create,
)
from directory.services.users import user_update
from tests.actors import OPERATOR


@pytest.fixture
def console(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def intruder(other_admin: User) -> Client:
    client = Client()
    client.force_login(other_admin)
    return client


def test_event_rows_say_what_changed_in_words(console: Client, org: Org) -> None:
    user = user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    user_update(
        user=user,
        fields=UserFields(user_name="ann@acme.example", family_name="Lee", title="Lead"),
        actor=OPERATOR,
    )
    group = group_create(org=org, display_name="Sales", actor=OPERATOR)
    group_update(group=group, member_ops=[("add", [str(user.id)])], actor=OPERATOR)
    page = console.get("/o/acme/events/").content.decode()
    assert "Changed family name, title" in page
    assert "Added 1 member, removed 0" in page


def test_the_resource_links_to_the_user_or_group_while_it_exists(console: Client, org: Org) -> None:
    user = user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    group = group_create(org=org, display_name="Sales", actor=OPERATOR)
    event_record(
        org=org,
        action="user_delete",
        outcome="success",
        resource_type="User",
        resource_id="6f1c2a34-0000-4000-8000-000000000001",
        resource_name="gone@acme.example",
        actor=OPERATOR,
    )
    page = console.get("/o/acme/events/").content.decode()
    assert f'href="/o/acme/users/{user.id}/">ann@acme.example</a>' in page
    assert f'href="/o/acme/groups/{group.id}/">Sales</a>' in page
    assert "gone@acme.example" in page and "gone@acme.example</a>" not in page


def test_events_are_searched_by_user_or_group(console: Client, org: Org) -> None:
    ann = user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="bob@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="Annual planning", actor=OPERATOR)
    page = console.get("/o/acme/events/?q=ANN").content.decode()
    assert "ann@acme.example" in page and "Annual planning" in page
    assert "bob@acme.example" not in page
    page = console.get(f"/o/acme/events/?resource={ann.id}").content.decode()
    assert "ann@acme.example" in page and "Annual planning" not in page
    assert "bob@acme.example" not in page
    page = console.get("/o/acme/events/?resource=not-a-uuid").content.decode()
    assert "No events." in page
    assert "No events." in console.get("/o/acme/events/?q=%00").content.decode()
    assert "No events." in console.get("/o/acme/events/?q=_nn").content.decode()


def test_another_orgs_admin_sees_no_events(intruder: Client, org: Org, other_org: Org) -> None:
    ann = user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    assert intruder.get("/o/acme/events/?q=ann").status_code == 404
    page = intruder.get(f"/o/globex/events/?resource={ann.id}").content.decode()
    assert "ann@acme.example" not in page and "No events." in page
    assert "ann@acme.example" not in intruder.get("/o/globex/events/?q=ann").content.decode()


def test_the_user_and_group_pages_link_to_their_events(console: Client, org: Org) -> None:
    user = user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    group = group_create(org=org, display_name="Sales", actor=OPERATOR)
    user_page = console.get(f"/o/acme/users/{user.id}/").content.decode()
    assert f'href="/o/acme/events/?resource={user.id}"' in user_page
    group_page = console.get(f"/o/acme/groups/{group.id}/").content.decode()
    assert f'href="/o/acme/events/?resource={group.id}"' in group_page
