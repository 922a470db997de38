"""An end user signs in with SAML through a real IdP (npm's saml-idp on 127.0.0.1) in
headless Chromium: /sso/acme/ -> the IdP's form -> our ACS -> /me/; deactivation signs
them out; a user who is not in the directory is refused. One IdP for the module.

The app runs at localhost and the IdP at 127.0.0.1: two sites, so the IdP's POST to the
ACS is cross-site, as in production, and carries no cookie of ours."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, Route, expect

from directory.models import EndUser, Org, ScimDirectory, Source
from directory.services.user_fields import UserFields
from directory.services.users import user_create, user_update
from tests.actors import OPERATOR
from tests.signin.idps import SamlIdp, configure_from_metadata, saml_idp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def idp_server(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdp]:
    with saml_idp(
        workdir=tmp_path_factory.mktemp("saml-idp"),
        sp_entity_id=f"{live_server.url}/sso/acme/saml/metadata/",
        acs_url=f"{live_server.url}/sso/acme/saml/acs/",
    ) as server:
        yield server


@pytest.fixture
def saml_page(page: Page, idp_server: SamlIdp, directory: ScimDirectory, settings: Any) -> Page:
    """The page, with acme's IdP configured from saml-idp's metadata and SCIM on.
    Nothing leaves 127.0.0.1 / localhost (saml-idp's pages name a CDN for old IE)."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    configure_from_metadata(directory.org.idp, idp_server.metadata_url)

    page.route("**/*", _local_only)
    return page


def _local_only(route: Route) -> None:
    host = route.request.url.split("/")[2].split(":")[0]
    if host in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


def _provisioned(org: Org, directory: ScimDirectory, name: str) -> EndUser:
    # As the SCIM adapter creates a user Okta pushes.
    return user_create(
        org=org,
        fields=UserFields(
            user_name=name,
            given_name="Ada",
            family_name="Lovelace",
            emails=[{"value": name, "type": "work", "primary": True}],
        ),
        source=Source.SCIM,
        directory=directory,
        actor=OPERATOR,
    )


def _sign_in_at_the_idp(page: Page, idp_server: SamlIdp, name: str) -> None:
    page.goto("/sso/acme/")
    assert page.url.startswith(idp_server.url), page.url
    page.locator("#userName").fill(name)
    page.locator("#email").fill(name)
    page.locator("#btn-sign-in").click()


def test_a_provisioned_user_signs_in_and_is_signed_out_when_deactivated(
    saml_page: Page, idp_server: SamlIdp, org: Org, directory: ScimDirectory
) -> None:
    page = saml_page
    user = _provisioned(org, directory, "ada@acme.example")
    _sign_in_at_the_idp(page, idp_server, "ada@acme.example")
    page.wait_for_url("**/me/")
    expect(page.locator('[data-field="userName"]')).to_have_text("ada@acme.example")
    expect(page.locator('[data-field="seat"]')).to_have_text("Assigned")
    if os.environ.get("UPDATE_SCREENSHOTS"):  # make screenshots
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "signin-me.png"), full_page=True)
    user.refresh_from_db()
    assert user.idp_subject == "ada@acme.example" and user.last_signin_at is not None
    assert org.events.filter(action="signin", outcome="success").count() == 1

    user_update(
        user=user,
        fields=UserFields(user_name="ada@acme.example", active=False),
        directory=directory,
        actor=OPERATOR,
    )
    response = page.reload()
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading")).to_have_text("You are not signed in")

    # Signing in again at the IdP (which still knows them) is refused by us.
    _sign_in_at_the_idp(page, idp_server, "ada@acme.example")
    page.wait_for_url("**/sso/acme/saml/acs/")
    expect(page.locator("[data-reason]")).to_have_text("USER_DISABLED")


def test_a_user_who_is_not_in_the_directory_is_refused(
    saml_page: Page, idp_server: SamlIdp, org: Org
) -> None:
    page = saml_page
    _sign_in_at_the_idp(page, idp_server, "stranger@acme.example")
    page.wait_for_url("**/sso/acme/saml/acs/")
    expect(page.locator("[data-reason]")).to_have_text("USER_NOT_PROVISIONED")
    assert not org.users.filter(user_name="stranger@acme.example").exists()
    event = org.events.filter(action="signin").get()
    assert event.outcome == "failure" and event.details["reason"] == "USER_NOT_PROVISIONED"


def test_an_admin_sets_up_sign_in_in_the_console_and_a_scim_user_signs_in(
    page: Page, idp_server: SamlIdp, org: Org, admin: User, tmp_path: Path, settings: Any
) -> None:
    """The issue's whole path: in the console alone an admin configures Okta-style SAML
    from the IdP's metadata, copies our values, turns SCIM on and makes a token; the IdP
    provisions a user over SCIM; that user signs in through the IdP and lands on /me/;
    the IdP deactivates them over SCIM and they are signed out."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    admin.set_password("walk-the-console-1")
    admin.save()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(admin.username)
    page.get_by_label("Password").fill("walk-the-console-1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Provider", exact=True).select_option("okta")
    page.get_by_label("Protocol", exact=True).select_option("saml")
    site = page.url.split("/o/")[0]
    assert page.locator("#sp-acs-url").input_value() == f"{site}/sso/acme/saml/acs/"
    metadata = tmp_path / "idp-metadata.xml"
    with urllib.request.urlopen(idp_server.metadata_url, timeout=5) as r:  # noqa: S310
        metadata.write_bytes(r.read())
    page.get_by_label("IdP metadata (XML file)").set_input_files(str(metadata))
    page.get_by_role("button", name="Save identity provider").click()
    expect(page.locator("#signin-state")).to_have_text("Sign-in ready")
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#idp").screenshot(path=str(SCREENSHOTS / "signin-idp-settings.png"))
    page.get_by_role("switch", name="SCIM Provisioning").click()
    page.locator("#scim-on").get_by_role("button", name="Enable SCIM").click()
    base_url = page.get_by_label("Base URL").input_value()
    page.get_by_label("Token name (optional)").fill("Okta")
    page.get_by_role("button", name="Generate API token").click()
    token = page.locator("#new-token").get_by_label("API token").input_value()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as scim:
        created = scim.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "grace@acme.example",
                "name": {"givenName": "Grace", "familyName": "Hopper"},
                "emails": [{"value": "grace@acme.example", "type": "work", "primary": True}],
                "active": True,
            },
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]

        # The end user, in a browser of their own.
        assert page.context.browser is not None
        context = page.context.browser.new_context(base_url=site)
        end_user = context.new_page()
        end_user.route("**/*", _local_only)
        _sign_in_at_the_idp(end_user, idp_server, "grace@acme.example")
        end_user.wait_for_url("**/me/")
        expect(end_user.locator('[data-field="userName"]')).to_have_text("grace@acme.example")

        patched = scim.patch(
            f"/Users/{user_id}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        )
        assert patched.status_code == 200, patched.text
        response = end_user.reload()
        assert response is not None and response.status == 401
        context.close()
