"""What the console shows of sign-ins: each user's last sign-in, the "never signed in"
filter (console and API), and sign-in attempts among the events."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from directory.models import Org
from directory.services.signin import Identity, signin
from directory.services.user_fields import UserFields
from directory.services.users import user_create
from tests.actors import OPERATOR
from tests.api.test_api import client_for
from tests.signin.conftest import make_ready


@pytest.fixture
def console(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def _two_users(org: Org) -> None:
    make_ready(org)
    for name in ("carol@acme.example", "dave@acme.example"):
        user_create(org=org, fields=UserFields(user_name=name), actor=OPERATOR)
    signin(org=org, identity=Identity("00u-carol", "carol@acme.example"), protocol="saml")


def test_the_directory_shows_last_sign_in_and_filters_those_who_never_did(
    console: Client, org: Org
) -> None:
    _two_users(org)
    page = console.get("/o/acme/users/").content.decode()
    assert page.count('data-col="last-signin">Never') == 1
    never = console.get("/o/acme/users/", {"signin": "never"}).content.decode()
    assert "dave@acme.example" in never and "carol@acme.example" not in never
    signed = console.get("/o/acme/users/", {"signin": "signed-in"}).content.decode()
    assert "carol@acme.example" in signed and "dave@acme.example" not in signed


def test_the_api_filters_the_same_way(admin: User, org: Org) -> None:
    _two_users(org)
    body = client_for(admin).get("/api/v1/orgs/acme/users/", {"signin": "never"}).json()
    assert [u["user_name"] for u in body["results"]] == ["dave@acme.example"]


def test_sign_in_attempts_are_events_in_the_console_and_the_api(
    console: Client, admin: User, org: Org
) -> None:
    _two_users(org)
    signin(org=org, identity=Identity("00u-eve", "eve@acme.example"), protocol="saml")
    page = console.get("/o/acme/events/", {"action": "signin"}).content.decode()
    assert "eve@acme.example" in page and "USER_NOT_PROVISIONED" in page
    body = client_for(admin).get("/api/v1/orgs/acme/events/", {"action": "signin"}).json()
    outcomes = sorted(e["outcome"] for e in body["results"])
    assert outcomes == ["failure", "success"]
