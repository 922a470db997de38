"""An org whose SAML IdP is one the test plays itself (tests.signin.saml_forge signs its
responses), and the steps of a sign-in against it: start, answer, post to the ACS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.test import Client
from django.test.client import Client as TestClient

from directory.models import EndUser, EndUserSession, IdentityProvider, Org, ProvisioningEvent
from directory.services.idp import SpValues, idp_configure
from directory.services.user_fields import UserFields
from directory.services.users import user_create
from signin.saml_toolkit import sp_urls
from tests.actors import OPERATOR
from tests.signin.saml_forge import Assertion, Keys, authn_request_of, encode, keys, response

COOKIE = settings.END_USER_SESSION_COOKIE
IDP_ENTITY_ID = "https://idp.example.test/saml/metadata"
IDP_SSO_URL = "https://idp.example.test/saml/sso"


def configure_saml(
    org: Org, *certs: Keys, entity_id: str = IDP_ENTITY_ID, idp_initiated: bool = False
) -> IdentityProvider:
    """The org's IdP as the configuration service leaves it after reading metadata."""
    idp = idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    idp.entity_id = entity_id
    idp.sso_url = IDP_SSO_URL
    idp.certificates = [c.certificate() for c in (certs or (keys(),))]
    idp.idp_initiated = idp_initiated
    idp.save()
    return idp


@dataclass
class Scene:
    org: Org
    idp: IdentityProvider

    @property
    def urls(self) -> SpValues:
        return sp_urls(self.org)

    def start(self, client: TestClient | None = None, next_path: str = "") -> str:
        """Start a sign-in (GET /sso/<slug>/) and return the AuthnRequest's ID."""
        query = {"next": next_path} if next_path else {}
        r = (client or Client()).get(f"/sso/{self.org.slug}/", query)
        assert r.status_code == 302, r.content
        request, _ = authn_request_of(r.headers["Location"])
        return str(request.get("ID"))

    def assertion(self, **fields: Any) -> Assertion:
        fields.setdefault("issuer", self.idp.entity_id)
        fields.setdefault("audience", self.urls.entity_id)
        fields.setdefault("recipient", self.urls.acs_url)
        return Assertion(**fields)

    def response(self, *assertions: str, **fields: Any) -> str:
        fields.setdefault("issuer", self.idp.entity_id)
        fields.setdefault("destination", self.urls.acs_url)
        return response(*assertions, **fields)

    def answer(self, **fields: Any) -> str:
        """A good answer to a new AuthnRequest: a signed assertion for `fields`."""
        request_id = self.start()
        return self.response(
            self.assertion(in_response_to=request_id, **fields).signed(),
            in_response_to=request_id,
        )

    def post(self, xml: str, relay_state: str = "", slug: str = "") -> Any:
        """Post a response to the ACS as the IdP's cross-site form does: no cookies at all,
        CSRF checks on."""
        client = Client(enforce_csrf_checks=True)
        data = {"SAMLResponse": encode(xml)}
        if relay_state:
            data["RelayState"] = relay_state
        return client.post(f"/sso/{slug or self.org.slug}/saml/acs/", data)


def signed_in_as(r: Any, user: EndUser, *, to: str = "/me/") -> None:
    """A 302 to `to` with a session cookie for `user`, and its success event."""
    assert r.status_code == 302, r.content.decode()[:2000]
    assert r.headers["Location"] == to
    assert r.cookies[COOKIE].value
    assert EndUserSession.objects.filter(user=user).count() == 1
    event = ProvisioningEvent.objects.filter(action="signin").latest("id")
    assert event.outcome == "success" and event.resource_id == user.pk


def refused(r: Any, org: Org, *, reason: str = "INVALID_RESPONSE", because: str = "") -> None:
    """A 403 page with the reason, no session anywhere, and the failure event."""
    assert r.status_code == 403, r.content.decode()[:2000]
    assert reason in r.content.decode()
    assert COOKIE not in r.cookies or not r.cookies[COOKIE].value
    assert not EndUserSession.objects.exists()
    event = org.events.filter(action="signin").latest("id")
    assert event.outcome == "failure" and event.details["reason"] == reason, event.message
    if because:
        assert because in event.message, event.message


def directory_user(org: Org, name: str, **fields: Any) -> EndUser:
    return user_create(org=org, fields=UserFields(user_name=name, **fields), actor=OPERATOR)


def make_scene(org: Org) -> Scene:
    """The org's IdP is the test's; alice and mallory (whom an attacker would like to be)
    are in its directory, active and seated, so only the response decides."""
    directory_user(org, "alice@acme.example", given_name="Alice")
    directory_user(org, "mallory@acme.example", given_name="Mallory")
    return Scene(org=org, idp=configure_saml(org))
