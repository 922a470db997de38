"""OIDC sign-in end to end: headless Chromium, this server (pytest-django's live server)
and a real OpenID provider that nobody here wrote (node-oidc-provider, started on
127.0.0.1 once for this module): /sso/acme/ -> the provider's login form -> consent ->
the callback -> /me/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from directory.models import IdentityProvider, Org
from directory.services.idp import idp_configure
from directory.services.user_fields import UserFields
from directory.services.users import user_create
from tests.actors import OPERATOR
from tests.signin.oidc_provider import CLIENT_ID, CLIENT_SECRET, node_provider

# The browser and page come from tests/browser/conftest.py: one Chromium per test process,
# shared with the console's walk (two Playwright sessions cannot run in one thread).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def issuer(live_server: Any) -> Iterator[str]:
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{live_server.url}/sso/acme/oidc/callback/"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        }
    ]
    with node_provider(clients) as issuer:
        yield issuer


def _configure(org: Org, issuer: str, settings: Any, *, jit: bool = False) -> IdentityProvider:
    settings.OUTBOUND_ALLOW_PRIVATE = True
    idp = idp_configure(org=org, provider="other", protocol="oidc", actor=OPERATOR)
    idp.issuer = issuer
    idp.client_id = CLIENT_ID
    idp.client_secret = CLIENT_SECRET
    idp.jit = jit
    idp.save()
    return idp


def _sign_in_at_the_provider(page: Page, login: str) -> None:
    page.goto("/sso/acme/")
    # node-oidc-provider's development login form: any login, any password.
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # consent


def test_a_provisioned_user_signs_in_through_the_provider_and_lands_on_me(
    page: Page, issuer: str, org: Org, settings: Any, live_server: Any
) -> None:
    _configure(org, issuer, settings)
    user = user_create(
        org=org,
        fields=UserFields(user_name="grace@acme.example", given_name="Grace"),
        actor=OPERATOR,
    )
    _sign_in_at_the_provider(page, "grace@acme.example")
    expect(page).to_have_url(f"{live_server.url}/me/")
    expect(page.locator("main")).to_contain_text("grace@acme.example")
    expect(page.locator("main")).to_contain_text("Acme Corp")
    user.refresh_from_db()
    # node-oidc-provider's subject is the login name (tests/idps/oidc.mjs).
    assert user.idp_subject == "grace@acme.example" and user.last_signin_at is not None
    event = org.events.filter(action="signin").latest("id")
    assert event.outcome == "success" and event.details["protocol"] == "oidc"


def test_an_unknown_user_is_created_just_in_time_with_no_scim_directory(
    page: Page, issuer: str, org: Org, settings: Any, live_server: Any
) -> None:
    _configure(org, issuer, settings, jit=True)
    assert not org.users.exists() and not org.scim_directories.exists()
    _sign_in_at_the_provider(page, "hedy@acme.example")
    expect(page).to_have_url(f"{live_server.url}/me/")
    expect(page.locator("main")).to_contain_text("hedy@acme.example")
    user = org.users.get()
    assert user.user_name == "hedy@acme.example" and user.source == "jit"
    # The profile claims came from the provider (its userinfo endpoint: it keeps them out
    # of the id_token when it issues an access token).
    assert (user.given_name, user.family_name, user.primary_email) == (
        "hedy",
        "Test",
        "hedy@acme.example",
    )


def test_an_unknown_user_is_refused_where_just_in_time_creation_is_off(
    page: Page, issuer: str, org: Org, settings: Any
) -> None:
    _configure(org, issuer, settings)
    _sign_in_at_the_provider(page, "mallory@acme.example")
    expect(page.locator("[data-reason]")).to_have_text("USER_NOT_PROVISIONED")
    assert not org.users.exists()
