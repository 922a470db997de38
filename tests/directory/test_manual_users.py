"""A person an admin adds by hand has one shape, whichever interface adds them: the email
is the userName and the primary work email (directory.services.user_add)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from directory.models import Org
from tests.api.test_api import client_for


def _shape(org: Org, user_name: str) -> tuple[object, ...]:
    user = org.users.get(user_name=user_name)
    return (user.source, user.emails, user.given_name, user.primary_email, user.has_seat)


def test_the_console_and_the_api_add_the_same_user(admin: User, org: Org) -> None:
    console = Client()
    console.force_login(admin)
    r = console.post(
        "/o/acme/users/new/",
        {"user_name": "ada@acme.example", "given_name": "Ada", "family_name": "L"},
    )
    assert r.status_code == 302
    api_response = client_for(admin).post(
        "/api/v1/orgs/acme/users/",
        {"user_name": "bea@acme.example", "given_name": "Ada", "family_name": "L"},
        format="json",
    )
    assert api_response.status_code == 201, api_response.content
    console_user, api_user = _shape(org, "ada@acme.example"), _shape(org, "bea@acme.example")
    assert console_user[0] == api_user[0] == "manual"
    assert console_user[1] == [{"value": "ada@acme.example", "type": "work", "primary": True}]
    assert api_user[1] == [{"value": "bea@acme.example", "type": "work", "primary": True}]
    assert console_user[2:4] == ("Ada", "ada@acme.example") and api_user[2:4] == (
        "Ada",
        "bea@acme.example",
    )
    assert console_user[4] is api_user[4] is True
