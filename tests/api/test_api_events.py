from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from directory.models import Org
from directory.services import UserFields, group_create, group_update, user_create
from tests.actors import OPERATOR
from tests.api.test_api import client_for


@pytest.fixture
def api(admin: User) -> APIClient:
    return client_for(admin)


def test_events_carry_a_summary_in_words(api: APIClient, org: Org) -> None:
    user = user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    group = group_create(org=org, display_name="Sales", actor=OPERATOR)
    group_update(group=group, member_ops=[("add", [str(user.id)])], actor=OPERATOR)
    events = api.get("/api/v1/orgs/acme/events/?action=group_members").json()["results"]
    assert [e["summary"] for e in events] == ["Added 1 member, removed 0"]


def test_events_are_searched_by_name_prefix_and_resource(api: APIClient, org: Org) -> None:
    ann = user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="bob@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="Annual planning", actor=OPERATOR)
    named = api.get("/api/v1/orgs/acme/events/?q=Ann").json()["results"]
    assert sorted(e["resource_name"] for e in named) == ["Annual planning", "ann@acme.example"]
    by_id = api.get(f"/api/v1/orgs/acme/events/?resource={ann.id}").json()["results"]
    assert [e["resource_name"] for e in by_id] == ["ann@acme.example"]
    assert api.get("/api/v1/orgs/acme/events/?resource=nope").json()["results"] == []


def test_another_orgs_key_finds_no_events(org: Org, other_org: Org, other_admin: User) -> None:
    ann = user_create(org=org, fields=UserFields(user_name="ann@acme.example"), actor=OPERATOR)
    intruder = client_for(other_admin)
    assert intruder.get("/api/v1/orgs/acme/events/?q=ann").status_code in (403, 404)
    mine = intruder.get(f"/api/v1/orgs/globex/events/?resource={ann.id}").json()["results"]
    assert mine == []
    assert intruder.get("/api/v1/orgs/globex/events/?q=ann").json()["results"] == []
