"""The end user's pages: /sso/<slug>/ when sign-in is not set up, /me/ with a session,
signing out, and the refusal page. The protocols' own tests sign in through real IdPs."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from directory.models import EndUser, Org, SigninRefusal
from directory.services.groups import group_create
from directory.services.idp import idp_configure
from directory.services.sessions import session_start
from directory.services.user_fields import UserFields
from directory.services.users import user_create, user_update
from signin.views import safe_next
from tests.actors import OPERATOR
from tests.signin.conftest import make_ready

COOKIE = settings.END_USER_SESSION_COOKIE


def _signed_in(client: Client, org: Org, name: str = "alice@acme.example") -> EndUser:
    user = user_create(
        org=org, fields=UserFields(user_name=name, given_name="Alice"), actor=OPERATOR
    )
    client.cookies[COOKIE] = session_start(user=user, protocol="saml")
    return user


def test_sign_in_before_the_idp_is_set_up_is_refused_with_its_code(
    client: Client, org: Org
) -> None:
    r = client.get("/sso/acme/")
    assert r.status_code == 403
    assert b"SSO_NOT_CONFIGURED" in r.content
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    r = client.get("/sso/acme/")
    assert r.status_code == 403 and b"SSO_NOT_CONFIGURED" in r.content
    events = org.events.filter(action="signin", outcome="failure")
    assert [e.details["reason"] for e in events] == ["SSO_NOT_CONFIGURED"] * 2


def test_an_unknown_org_is_a_404(client: Client, db: None) -> None:
    assert client.get("/sso/nobody/").status_code == 404


def test_me_shows_the_signed_in_users_account(client: Client, org: Org) -> None:
    user = _signed_in(client, org)
    group_create(
        org=org,
        display_name="Engineering",
        member_ids=[str(user.pk)],
        actor=OPERATOR,
    )
    r = client.get("/me/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "alice@acme.example" in body and "Acme Corp" in body and "Engineering" in body
    assert 'data-field="seat">Assigned' in body
    assert r.headers["Cache-Control"].startswith("max-age=0")


def test_me_without_a_session_says_so(client: Client, db: None) -> None:
    assert client.get("/me/").status_code == 401
    client.cookies[COOKIE] = "forged"
    assert client.get("/me/").status_code == 401


def test_an_end_user_session_is_not_a_console_session(client: Client, org: Org) -> None:
    _signed_in(client, org)
    r = client.get("/o/acme/users/")
    assert r.status_code == 302 and "/accounts/login/" in r.headers["Location"]


def test_deactivation_signs_the_user_out_at_their_next_request(client: Client, org: Org) -> None:
    user = _signed_in(client, org)
    user_update(
        user=user,
        fields=UserFields(user_name="alice@acme.example", active=False),
        actor=OPERATOR,
    )
    r = client.get("/me/")
    assert r.status_code == 401 and b"not signed in" in r.content


def test_a_user_who_lost_access_behind_the_services_back_sees_why(client: Client, org: Org) -> None:
    user = _signed_in(client, org)
    EndUser.objects.filter(pk=user.pk).update(has_seat=False)
    r = client.get("/me/")
    assert r.status_code == 403 and SigninRefusal.NO_SEAT.encode() in r.content
    assert client.get("/me/").status_code == 401


def test_signing_out_ends_the_session(client: Client, org: Org) -> None:
    user = _signed_in(client, org)
    r = client.post("/me/signout/")
    assert r.status_code == 200 and b"signed out" in r.content
    assert user.sessions.count() == 0
    assert client.get("/me/").status_code == 401


def test_a_ready_idp_of_another_org_does_not_help(client: Client, org: Org, other_org: Org) -> None:
    make_ready(other_org)
    assert b"SSO_NOT_CONFIGURED" in client.get("/sso/acme/").content


@pytest.mark.parametrize(
    ("relay_state", "goes_to"),
    [
        ("/me/?tab=groups", "/me/?tab=groups"),
        ("/apps/billing", "/apps/billing"),
        ("https://evil.example/", "/me/"),
        ("//evil.example/", "/me/"),
        ("/\\evil.example", "/me/"),
        ("javascript:alert(1)", "/me/"),
        ("", "/me/"),
        (None, "/me/"),
        ("  //evil.example", "/me/"),
    ],
)
def test_after_sign_in_only_relative_paths_of_this_site_are_followed(
    relay_state: str | None, goes_to: str
) -> None:
    assert safe_next(relay_state) == goes_to
