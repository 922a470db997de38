"""Starting a SAML sign-in (the AuthnRequest), our SP metadata, and the per-address
throttle on starts and ACS posts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from directory.models import Org, SigninNonce
from directory.services.idp import idp_configure
from tests.actors import OPERATOR
from tests.signin.saml_forge import authn_request_of, encode
from tests.signin.saml_scene import IDP_SSO_URL, Scene, configure_saml, make_scene

MD = "urn:oasis:names:tc:SAML:2.0:metadata"


@pytest.fixture
def scene(org: Org) -> Scene:
    return make_scene(org)


def test_start_redirects_to_the_idp_with_an_authn_request(scene: Scene) -> None:
    r = Client().get("/sso/acme/", {"next": "/me/?tab=groups"})
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith(IDP_SSO_URL + "?")
    request, query = authn_request_of(location)
    assert query["RelayState"] == ["/me/?tab=groups"]
    assert request.get("AssertionConsumerServiceURL") == "http://127.0.0.1:8000/sso/acme/saml/acs/"
    assert request.get("ProtocolBinding") == C.BINDING_HTTP_POST
    assert request.get("Destination") == IDP_SSO_URL
    issuer = request.find(f"{{{C.NS_SAML}}}Issuer")
    assert issuer is not None and issuer.text == "http://127.0.0.1:8000/sso/acme/saml/metadata/"
    assert r.headers["Cache-Control"].startswith("max-age=0")


def test_the_request_id_is_kept_on_the_server_and_no_cookie_is_set(scene: Scene) -> None:
    r = Client().get("/sso/acme/")
    request, _ = authn_request_of(r.headers["Location"])
    nonce = SigninNonce.objects.get(org=scene.org, kind=SigninNonce.Kind.AUTHN_REQUEST)
    assert nonce.key == request.get("ID")
    assert not r.cookies


def test_our_urls_come_from_site_url_not_from_the_host_header(scene: Scene, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    r = Client(HTTP_HOST="evil.example").get("/sso/acme/")
    request, _ = authn_request_of(r.headers["Location"])
    assert request.get("AssertionConsumerServiceURL").startswith("http://127.0.0.1:8000/")
    # And the ACS compares Destination and Recipient with SITE_URL's too.
    r = Client(HTTP_HOST="evil.example").post(
        "/sso/acme/saml/acs/", {"SAMLResponse": encode(scene.answer())}
    )
    assert r.status_code == 302


def test_an_unsafe_next_becomes_me(scene: Scene) -> None:
    r = Client().get("/sso/acme/", {"next": "https://evil.example/"})
    _, query = authn_request_of(r.headers["Location"])
    assert query["RelayState"] == ["/me/"]


def test_start_refuses_until_the_idp_metadata_is_there(org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    r = Client().get("/sso/acme/")
    assert r.status_code == 403 and b"SSO_NOT_CONFIGURED" in r.content


# --- metadata ------------------------------------------------------------------------------


def test_the_metadata_describes_our_sp(scene: Scene) -> None:
    r = Client().get("/sso/acme/saml/metadata/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/samlmetadata+xml"
    root = etree.fromstring(r.content)
    assert root.get("entityID") == "http://127.0.0.1:8000/sso/acme/saml/metadata/"
    sp = root.find(f"{{{MD}}}SPSSODescriptor")
    assert sp is not None and sp.get("WantAssertionsSigned") == "true"
    acs = sp.find(f"{{{MD}}}AssertionConsumerService")
    assert acs is not None
    assert acs.get("Location") == "http://127.0.0.1:8000/sso/acme/saml/acs/"
    assert acs.get("Binding") == C.BINDING_HTTP_POST


def test_the_metadata_is_there_before_the_idps_metadata(org: Org) -> None:
    # The admin pastes our values into the IdP first, then brings its metadata back.
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    r = Client().get("/sso/acme/saml/metadata/")
    assert r.status_code == 200 and b"/sso/acme/saml/acs/" in r.content


def test_no_metadata_without_a_saml_idp(org: Org, other_org: Org) -> None:
    assert Client().get("/sso/acme/saml/metadata/").status_code == 404
    idp_configure(org=org, provider="entra", protocol="oidc", actor=OPERATOR)
    assert Client().get("/sso/acme/saml/metadata/").status_code == 404
    assert Client().get("/sso/nobody/saml/metadata/").status_code == 404


def test_each_org_has_its_own_entity_id(org: Org, other_org: Org) -> None:
    configure_saml(org)
    configure_saml(other_org)
    acme = Client().get("/sso/acme/saml/metadata/").content.decode()
    globex = Client().get("/sso/globex/saml/metadata/").content.decode()
    assert "/sso/acme/saml/metadata/" in acme and "globex" not in acme
    assert "/sso/globex/saml/metadata/" in globex and "acme" not in globex


# --- throttle --------------------------------------------------------------------------------


def test_sign_in_starts_are_throttled_per_address(scene: Scene, settings: Any) -> None:
    settings.SIGNIN_ATTEMPTS_PER_MINUTE = 3
    codes = [Client().get("/sso/acme/").status_code for _ in range(4)]
    assert codes == [302, 302, 302, 429]
    r = Client().get("/sso/acme/")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) in range(1, 61)
    assert b"Too many sign-in attempts" in r.content
    # Another address is not held back.
    assert Client(REMOTE_ADDR="192.0.2.7").get("/sso/acme/").status_code == 302


def test_acs_posts_are_throttled_per_address(scene: Scene, settings: Any) -> None:
    settings.SIGNIN_ATTEMPTS_PER_MINUTE = 2
    codes = [
        Client().post("/sso/acme/saml/acs/", {"SAMLResponse": "x"}).status_code for _ in range(3)
    ]
    assert codes == [403, 403, 429]
    # A throttled post reads nothing and records nothing.
    assert scene.org.events.filter(action="signin").count() == 2
