"""The admin's path through the console, in headless Chromium, with real SCIM calls."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from directory.models import Org
from directory.services import UserFields, group_create, org_admin_add, user_create
from tests.actors import OPERATOR
from tests.idp_metadata import make_cert, okta_metadata

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def _scim(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        timeout=20,
    )


def _user(name: str) -> dict[str, object]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": name.split("@")[0].title(), "familyName": "Tester"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


def _seed_directory(org: Org) -> None:
    # A directory that already has some history, so the pages look like a real org's.
    people = [
        ("margaret.hamilton", "Margaret", "Hamilton", "jit", True),
        ("alan.turing", "Alan", "Turing", "jit", True),
        ("katherine.johnson", "Katherine", "Johnson", "manual", True),
        ("temp.contractor", "Temp", "Contractor", "manual", False),
    ]
    ids = []
    for login, given, family, source, active in people:
        user = user_create(
            org=org,
            fields=UserFields(
                user_name=f"{login}@acme.example",
                given_name=given,
                family_name=family,
                active=active,
                emails=[{"value": f"{login}@acme.example", "type": "work", "primary": True}],
            ),
            source=source,
            actor=OPERATOR,
        )
        ids.append(str(user.id))
    group_create(org=org, display_name="Engineering", member_ids=ids[:2], actor=OPERATOR)


def test_an_admin_sets_up_scim_and_watches_provisioning(
    page: Page, org: Org, admin: User, tmp_path: Path
) -> None:
    _seed_directory(org)
    admin.set_password("walk-the-console-1")
    admin.save()
    _sign_in(page, admin.username, "walk-the-console-1")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    scim_switch = page.get_by_role("switch", name="SCIM Provisioning")
    expect(scim_switch).to_be_disabled()
    expect(page.get_by_text("SCIM cannot be enabled yet")).to_be_visible()
    page.get_by_label("Provider", exact=True).select_option("okta")
    page.get_by_label("Protocol", exact=True).select_option("oidc")
    expect(page.get_by_label("IdP metadata (XML file)")).to_be_hidden()
    expect(page.locator("#sp-acs-url")).to_be_hidden()
    expect(page.locator("#sp-redirect-uri")).to_be_visible()
    page.get_by_label("Protocol", exact=True).select_option("saml")
    expect(page.get_by_label("Issuer", exact=True)).to_be_hidden()
    expect(page.locator("#sp-redirect-uri")).to_be_hidden()
    acs_url = page.locator("#sp-acs-url").input_value()
    assert acs_url == f"{page.url.split('/o/')[0]}/sso/acme/saml/acs/"
    page.locator("#sp-acs-url + button").click()
    assert page.evaluate("navigator.clipboard.readText()") == acs_url
    cert = make_cert()
    metadata = tmp_path / "okta-metadata.xml"
    metadata.write_text(okta_metadata(cert))
    page.get_by_label("IdP metadata (XML file)").set_input_files(str(metadata))
    page.get_by_role("button", name="Save identity provider").click()
    expect(page.get_by_text("Identity provider saved: end users can sign in.")).to_be_visible()
    expect(page.locator("#signin-state")).to_have_text("Sign-in ready")
    expect(page.locator("#idp-certificates")).to_contain_text(cert.sha256)

    scim_switch.click()
    page.locator("#scim-on").get_by_role("button", name="Enable SCIM").click()
    expect(page.get_by_text("SCIM provisioning is on.")).to_be_visible()
    expect(scim_switch).to_have_attribute("aria-checked", "true")
    base_url = page.get_by_label("Base URL").input_value()
    assert base_url.startswith(f"{page.url.split('/o/')[0]}/scim/v2/")
    page.locator("#base-url + button").click()
    expect(page.locator("#base-url + button")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == base_url

    page.get_by_label("Token name (optional)").fill("Okta")
    page.get_by_role("button", name="Generate API token").click()
    dialog = page.locator("#new-token")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("shown only this once")).to_be_visible()
    first_token = dialog.get_by_label("API token").input_value()
    dialog.locator("#new-token-value + button").click()
    assert page.evaluate("navigator.clipboard.readText()") == first_token
    expect(dialog.get_by_label("Authorization header for Okta")).to_have_value(
        f"Bearer {first_token}"
    )
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()

    with _scim(base_url, first_token) as scim:
        created = scim.post("/Users", json=_user("grace@acme.example"))
        assert created.status_code == 201, created.text
        grace = created.json()["id"]
        assert scim.post("/Users", json=_user("linus@acme.example")).status_code == 201

    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("link", name="grace@acme.example")).to_be_visible()
    _screenshot(page, "users.png")
    page.get_by_role("link", name="temp.contractor@acme.example").click()
    expect(page.get_by_text("Disabled", exact=True).first).to_be_visible()
    page.get_by_role("button", name="Delete permanently").click()
    page.locator("#delete-user").get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_text("was deleted permanently")).to_be_visible()
    expect(page.get_by_role("link", name="temp.contractor@acme.example")).to_have_count(0)
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("cell", name="grace@acme.example")).to_be_visible()
    expect(page.get_by_role("cell", name="Create user").first).to_be_visible()
    page.get_by_role("link", name="grace@acme.example").click()
    expect(page.get_by_role("link", name="All events of this user")).to_be_visible()
    page.get_by_role("link", name="Overview").click()
    expect(page.locator("svg.chart g.bar")).to_have_count(1)  # this hour's provisioning
    _screenshot(page, "overview.png")

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Token name (optional)").fill("Entra")
    page.get_by_role("button", name="Generate API token").click()
    second_token = page.locator("#new-token").get_by_label("API token").input_value()
    page.locator("#new-token").get_by_role("button", name="Done").click()
    assert page.url.endswith("/o/acme/settings/")  # a reload shows no token, posts nothing
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.get_by_role("button", name="Generate API token")).to_be_disabled()
    expect(page.get_by_text("At most 2 tokens can be active at once")).to_be_visible()
    _screenshot(page, "settings.png")

    okta_row = page.get_by_role("row").filter(has_text="Okta")
    okta_row.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    with _scim(base_url, first_token) as scim:
        assert scim.get("/Users").status_code == 401

    page.get_by_label("Delete: remove the user and free the seat").check()
    page.get_by_role("button", name="Save deprovisioning").click()
    confirm = page.get_by_role("dialog", name="Delete users the IdP deactivates?")
    expect(confirm).to_contain_text("A deleted user is gone for good")
    confirm.get_by_role("button", name="Delete users from now on").click()
    expect(page.get_by_text("Deprovisioning set to Delete")).to_be_visible()
    assert page.url.endswith("/o/acme/settings/#deprovision-title")  # back at the panel
    with _scim(base_url, second_token) as scim:
        r = scim.patch(
            f"/Users/{grace}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "value": {"active": False}}],
            },
        )
        assert r.status_code == 204
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("link", name="linus@acme.example")).to_be_visible()
    expect(page.get_by_role("link", name="grace@acme.example")).to_have_count(0)
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_text("deleted by the org's deprovisioning policy")).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Disable: keep the user, marked disabled").check()
    page.get_by_role("button", name="Save deprovisioning").click()
    expect(page.get_by_text("Deprovisioning set to Disable")).to_be_visible()
    page.get_by_role("button", name="Delete SCIM directory").click()
    page.get_by_label("Type acme to confirm").fill("acme")
    page.locator("#delete-directory").get_by_role("button", name="Delete SCIM directory").click()
    expect(page.get_by_text("The SCIM directory is deleted")).to_be_visible()
    with _scim(base_url, second_token) as scim:
        assert scim.get("/Users").status_code == 401
    page.get_by_role("link", name="Users").click()
    row = page.get_by_role("row").filter(has_text="linus@acme.example")
    expect(row.get_by_text("Manual")).to_be_visible()


def test_another_orgs_admin_gets_404(page: Page, org: Org, other_org: Org) -> None:
    membership, password = org_admin_add(org=other_org, email="mallory@globex.example")
    assert password is not None
    _sign_in(page, "mallory@globex.example", password)
    response = page.goto("/o/acme/settings/")
    assert response is not None and response.status == 404
    response = page.goto("/o/acme/users/")
    assert response is not None and response.status == 404
