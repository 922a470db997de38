"""The Django admin for operators: it shows the directory but does not rename or add
users and groups, move seat counters or write events behind the services' back."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from directory.models import Org
from directory.services import UserFields, group_create, user_create
from tests.actors import OPERATOR


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@example.com", "ops@example.com", "x"))
    return client


def test_an_operator_cannot_rename_a_user_into_another_ones_name(
    operator: Client, org: Org
) -> None:
    user_create(org=org, fields=UserFields(user_name="strasse@acme.example"), actor=OPERATOR)
    other = user_create(org=org, fields=UserFields(user_name="other@acme.example"), actor=OPERATOR)
    url = f"/admin/directory/enduser/{other.pk}/change/"
    page = operator.get(url)
    assert page.status_code == 200
    assert 'name="user_name"' not in page.content.decode()  # shown, not editable
    form: dict[str, Any] = {
        "user_name": "STRASSE@acme.example",
        "org": org.pk,
        "source": other.source,
        "active": "on",
        "access": other.access,
        "seat_requested_at_0": "",
        "seat_requested_at_1": "",
    }
    r = operator.post(url, form)
    assert r.status_code in (200, 302)
    other.refresh_from_db()
    assert other.user_name == "other@acme.example"


def test_an_operator_cannot_add_users_or_groups_in_the_admin(operator: Client, org: Org) -> None:
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    assert operator.get("/admin/directory/enduser/add/").status_code == 403
    assert operator.get("/admin/directory/group/add/").status_code == 403
    listing = operator.get("/admin/directory/group/").content.decode()
    assert "Engineering" in listing and "/admin/directory/group/add/" not in listing


def test_seat_counters_and_records_are_not_edited_in_the_admin(operator: Client, org: Org) -> None:
    user = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    org_page = operator.get(f"/admin/directory/org/{org.pk}/change/").content.decode()
    assert 'name="seats"' in org_page and 'name="seats_used"' not in org_page
    user_page = operator.get(f"/admin/directory/enduser/{user.pk}/change/").content.decode()
    assert 'name="has_seat"' not in user_page
    event = org.events.first()
    assert event is not None  # the create's event
    assert operator.get("/admin/directory/provisioningevent/add/").status_code == 403
    shown = operator.get(f"/admin/directory/provisioningevent/{event.pk}/change/")
    assert shown.status_code == 200 and 'name="message"' not in shown.content.decode()
    assert operator.get("/admin/directory/summarylog/add/").status_code == 403
