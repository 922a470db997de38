"""Settings > Identity and Access > End User: the identity provider panel."""

from __future__ import annotations

import html
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings

from directory.models import AuditEvent, IdentityProvider, Org
from directory.services import idp_configure, idp_jit_set
from tests.actors import OPERATOR
from tests.idp_metadata import (
    ENTRA_ENTITY_ID,
    OKTA_ENTITY_ID,
    OKTA_SSO_URL,
    entra_metadata,
    make_cert,
    metadata_server,
    okta_metadata,
)

SETTINGS = "/o/acme/settings/"
SAVE = "/o/acme/settings/idp/"


@pytest.fixture
def console(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def _upload(xml: str, name: str = "metadata.xml") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xml.encode(), content_type="text/xml")


def _page(console: Client) -> str:
    return console.get(SETTINGS).content.decode()


def _stored(org: Org) -> dict[str, Any]:
    return {
        k: v
        for k, v in IdentityProvider.objects.filter(org=org).values().get().items()
        if k not in ("saved_at", "updated_at", "client_secret")
    } | {"client_secret": IdentityProvider.objects.get(org=org).client_secret}


@override_settings(SITE_URL="https://cc.example")
def test_the_page_shows_what_to_paste_into_the_idp_with_copy_buttons(
    console: Client, org: Org
) -> None:
    page = _page(console)
    for element_id, value in [
        ("sp-entity-id", "https://cc.example/sso/acme/saml/metadata/"),
        ("sp-acs-url", "https://cc.example/sso/acme/saml/acs/"),
        ("sp-metadata-url", "https://cc.example/sso/acme/saml/metadata/"),
        ("sp-redirect-uri", "https://cc.example/sso/acme/oidc/callback/"),
        ("sp-signin-url", "https://cc.example/sso/acme/"),
    ]:
        assert f'<input id="{element_id}" type="text" readonly value="{value}">' in page
        assert f'data-copy="#{element_id}">Copy</button>' in page
    assert 'enctype="multipart/form-data"' in page


def test_okta_metadata_uploaded_in_the_console_sets_up_sign_in(console: Client, org: Org) -> None:
    cert = make_cert(days=365)
    r = console.post(
        SAVE,
        {"provider": "okta", "protocol": "saml", "metadata_file": _upload(okta_metadata(cert))},
        follow=True,
    )
    page = r.content.decode()
    assert "Identity provider saved: end users can sign in." in page
    assert 'id="signin-state">Sign-in ready<' in page and "Sign-in not set up" not in page
    assert cert.sha256 in page
    assert cert.not_after.strftime("%Y-%m-%d %H:%M") + " UTC" in page
    assert html.escape(OKTA_ENTITY_ID) in page and html.escape(OKTA_SSO_URL) in page
    assert "Expires soon" not in page and 'role="alert"' not in page
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.entity_id, idp.signin_ready) == (OKTA_ENTITY_ID, True)
    event = AuditEvent.objects.get(action="idp.configure")
    assert (event.actor, event.via) == ("alice@acme.example", "console")


def test_the_badge_says_sign_in_is_not_set_up_until_the_metadata_is_given(
    console: Client, org: Org
) -> None:
    console.post(SAVE, {"provider": "okta", "protocol": "saml"})
    page = _page(console)
    assert 'id="signin-state">Sign-in not set up<' in page
    assert "upload the IdP's metadata or give its metadata URL" in page
    console.post(SAVE, {"provider": "entra", "protocol": "oidc", "issuer": "https://i.example"})
    page = _page(console)
    assert 'id="signin-state">Sign-in not set up<' in page
    assert "give the issuer and the client ID" in page


def test_a_certificate_expiring_within_30_days_is_warned_about(console: Client, org: Org) -> None:
    soon, later = make_cert("soon", days=10), make_cert("later", days=400)
    idp_configure(org=org, provider="entra", protocol="saml",
                  metadata_xml=entra_metadata(soon, later), actor=OPERATOR)  # fmt: skip
    page = _page(console)
    (warning,) = re.findall(r'<p class="note-warn" role="alert">(.*?)</p>', page, re.S)
    assert f"expires on {soon.not_after:%Y-%m-%d}" in warning
    assert "upload its metadata again" in warning
    assert page.count("Expires soon") == 1
    assert soon.sha256 in page and later.sha256 in page
    idp_configure(org=org, provider="entra", protocol="saml",
                  metadata_xml=entra_metadata(later), actor=OPERATOR)  # fmt: skip
    assert 'role="alert"' not in _page(console)


def test_an_expired_certificate_is_marked_expired(console: Client, org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml",
                  metadata_xml=okta_metadata(make_cert(days=-2)), actor=OPERATOR)  # fmt: skip
    page = _page(console)
    assert "A signing certificate of your IdP expired on" in page
    assert 'badge-bad">Expired<' in page


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_the_metadata_url_is_fetched_when_saved(console: Client, org: Org) -> None:
    with metadata_server(
        {"/federationmetadata/2007-06/federationmetadata.xml": entra_metadata()}
    ) as s:
        url = f"{s.url}/federationmetadata/2007-06/federationmetadata.xml"
        r = console.post(SAVE, {"provider": "entra", "protocol": "saml", "metadata_url": url})
        assert r.status_code == 302
        # Saving again fetches it again (how a rolled-over certificate comes in).
        console.post(SAVE, {"provider": "entra", "protocol": "saml", "metadata_url": url})
    assert len(s.requests) == 2
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.entity_id, idp.metadata_url) == (ENTRA_ENTITY_ID, url)
    assert html.escape(url) in _page(console)


def test_a_private_metadata_url_is_refused_on_the_form(console: Client, org: Org) -> None:
    with metadata_server({"/m": okta_metadata()}) as s:
        r = console.post(
            SAVE, {"provider": "okta", "protocol": "saml", "metadata_url": f"{s.url}/m"}
        )
    assert s.requests == []
    page = r.content.decode()
    assert r.status_code == 200 and "The identity provider was not saved" in page
    error = r"The metadata could not be fetched from http://127\.0\.0\.1:\d+/m: Only https URLs"
    assert re.search(r'id="id_metadata_url".*?<p class="error">' + error, page, re.S)
    assert not IdentityProvider.objects.exists()


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("<html>not metadata</html>", "no EntityDescriptor with an IDPSSODescriptor"),
        (okta_metadata(use="encryption"), "no signing certificate"),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + okta_metadata().split("?>", 1)[1].replace(OKTA_ENTITY_ID, "&x;"),
            "declares a DTD or entities",
        ),
    ],
    ids=["not-metadata", "no-signing-certificate", "xxe"],
)
def test_bad_metadata_is_refused_on_the_form_and_changes_nothing(
    console: Client, org: Org, metadata: str, message: str
) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", metadata_xml=okta_metadata(),
                  actor=OPERATOR)  # fmt: skip
    before = _stored(org)
    r = console.post(
        SAVE, {"provider": "entra", "protocol": "saml", "metadata_file": _upload(metadata)}
    )
    page = r.content.decode()
    assert re.search(
        r'id="id_metadata_file".*?<p class="error">The metadata [^<]*' + message, page, re.S
    )
    assert _stored(org) == before


def test_a_file_and_a_url_together_are_refused(console: Client, org: Org) -> None:
    r = console.post(SAVE, {"provider": "okta", "protocol": "saml",
                            "metadata_file": _upload(okta_metadata()),
                            "metadata_url": "https://idp.example/metadata"})  # fmt: skip
    assert b"Give the metadata as a file or as a URL, not both." in r.content
    assert not IdentityProvider.objects.exists()


def test_the_other_protocols_hidden_fields_are_ignored(console: Client, org: Org) -> None:
    r = console.post(SAVE, {"provider": "okta", "protocol": "saml", "issuer": "not a url",
                            "client_secret": "leftover", "username_claim": "bogus"})  # fmt: skip
    assert r.status_code == 302
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.issuer, idp.client_secret) == ("", "")
    r = console.post(SAVE, {"provider": "okta", "protocol": "oidc",
                            "metadata_url": "not a url", "issuer": "https://acme.okta.example",
                            "client_id": "0oa1"})  # fmt: skip
    assert r.status_code == 302


def test_the_oidc_client_secret_is_saved_and_never_shown(console: Client, org: Org) -> None:
    form = {"provider": "entra", "protocol": "oidc", "issuer": "https://login.example/t/v2.0",
            "client_id": "cc-app", "scopes": "openid email profile",
            "username_claim": "preferred_username"}  # fmt: skip
    console.post(SAVE, {**form, "client_secret": "Sup3r~secret"})
    page = _page(console)
    assert "Sup3r~secret" not in page
    assert re.search(r'<input type="password" name="client_secret"[^>]*>', page)
    assert not re.search(r'<input type="password" name="client_secret"[^>]*value=', page)
    assert 'id="secret-saved">A client secret is saved.' in page
    assert 'id="signin-state">Sign-in ready<' in page
    console.post(SAVE, {**form, "client_id": "cc-app-2", "client_secret": ""})
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.client_id, idp.client_secret, idp.username_claim) == (
        "cc-app-2", "Sup3r~secret", "preferred_username"
    )  # fmt: skip


def test_a_bad_issuer_is_shown_on_its_field(console: Client, org: Org) -> None:
    r = console.post(SAVE, {"provider": "entra", "protocol": "oidc",
                            "issuer": "http://login.example", "client_id": "x"})  # fmt: skip
    assert re.search(
        r'id="id_issuer".*?<p class="error">The issuer must be an https URL',
        r.content.decode(),
        re.S,
    )
    r = console.post(SAVE, {"provider": "entra", "protocol": "oidc",
                            "scopes": "email", "client_id": "x"})  # fmt: skip
    assert b"The scopes must include openid" in r.content
    assert not IdentityProvider.objects.exists()


def _resubmit(console: Client) -> dict[str, Any]:
    """What the browser sends when the admin saves the form as the page shows it."""
    form = console.get(SETTINGS).context["idp_form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None and name != "metadata_file":
            data[name] = value
    return data


def _run(*args: str) -> None:
    call_command(*args, stdout=StringIO())


def test_the_console_saves_again_what_the_cli_saved_for_saml(
    console: Client, org: Org, tmp_path: Path
) -> None:
    path = tmp_path / "okta.xml"
    path.write_text(okta_metadata())
    _run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
         "--metadata-file", str(path), "--idp-initiated", "on")  # fmt: skip
    _run("idp", "jit", "acme", "on")
    before = _stored(org)
    r = console.post(SAVE, _resubmit(console))
    assert r.status_code == 302
    assert _stored(org) == before and before["idp_initiated"] is True


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_the_console_saves_again_what_the_cli_saved_for_oidc(
    console: Client, org: Org, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    _run("idp", "configure", "acme", "--provider", "other", "--protocol", "oidc",
         "--issuer", "http://127.0.0.1:9000/oidc", "--client-id", "cc",
         "--client-secret-file", str(secret), "--scopes", "openid email groups",
         "--username-claim", "preferred_username")  # fmt: skip
    before = _stored(org)
    r = console.post(SAVE, _resubmit(console))
    assert r.status_code == 302
    assert _stored(org) == before and before["client_secret"] == "from-a-file"


def test_the_jit_switch(console: Client, org: Org) -> None:
    assert "Just-in-time users" not in _page(console)  # no IdP yet
    r = console.post("/o/acme/settings/idp/jit/", {"jit": "on"}, follow=True)
    assert b"Configure and save the org&#x27;s end-user identity provider first" in r.content
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    r = console.post("/o/acme/settings/idp/jit/", {"jit": "on"}, follow=True)
    assert b"Just-in-time users are on" in r.content and b'id="jit-state">on<' in r.content
    assert IdentityProvider.objects.get(org=org).jit
    r = console.post("/o/acme/settings/idp/jit/", {}, follow=True)
    assert b'id="jit-state">off<' in r.content
    assert not IdentityProvider.objects.get(org=org).jit
    assert console.get("/o/acme/settings/idp/jit/").status_code == 405


def test_another_orgs_admin_can_neither_see_nor_change_the_idp(
    other_admin: User, org: Org, other_org: Org
) -> None:
    secret_cert = make_cert("acme-only")
    idp_configure(org=org, provider="okta", protocol="saml",
                  metadata_xml=okta_metadata(secret_cert), actor=OPERATOR)  # fmt: skip
    idp_jit_set(org=org, enabled=False, actor=OPERATOR)
    before = _stored(org)
    intruder = Client()
    intruder.force_login(other_admin)
    assert intruder.get(SETTINGS).status_code == 404
    posts = [
        (
            SAVE,
            {"provider": "other", "protocol": "saml", "metadata_file": _upload(okta_metadata())},
        ),
        (SAVE, {"provider": "other", "protocol": "oidc", "issuer": "https://evil.example"}),
        ("/o/acme/settings/idp/jit/", {"jit": "on"}),
    ]
    for url, data in posts:
        assert intruder.post(url, data).status_code == 404, url
    assert _stored(org) == before
    own = intruder.get("/o/globex/settings/").content.decode()
    assert secret_cert.sha256 not in own and "/sso/acme/" not in own
    assert "/sso/globex/saml/acs/" in own
    api = Client()
    api.force_login(other_admin)
    assert api.get("/api/v1/orgs/acme/idp/").status_code == 404
    r = api.put("/api/v1/orgs/acme/idp/", {"provider": "other", "protocol": "oidc", "jit": True},
                content_type="application/json")  # fmt: skip
    assert r.status_code == 404
    assert _stored(org) == before
