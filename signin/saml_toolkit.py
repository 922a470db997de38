"""python3-saml for one org: its settings built from the org's IdentityProvider row, the
request as python3-saml reads it, and the identity a verified response names.

python3-saml does the XML work: parsing (no DTDs, no entities), the signatures (xmlsec),
which element a signature covers (the signed assertion is the only one it reads the
subject and the attributes from), Audience, Issuer, Destination, Recipient and the time
conditions. This module only configures it strictly and adds the checks it leaves loose
(Destination and Recipient compared exactly rather than as prefixes; the assertion's
InResponseTo equal to the response's); it never verifies a signature itself.

The URLs python3-saml compares Destination and Recipient with are built from SITE_URL,
never from the request's Host header, so they are the URLs the IdP was given.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from directory.models import IdentityProvider, Org
from directory.services.idp import SpValues, sp_values
from directory.services.signin import Identity

# How far the IdP's clock may be from ours for NotBefore / NotOnOrAfter. python3-saml
# allows 300 s and reads this class attribute at each check; three minutes is enough
# for clocks kept by NTP. (This process has no other user of python3-saml.)
CLOCK_DRIFT_SECONDS = 180
OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT = CLOCK_DRIFT_SECONDS

NAMEID_EMAIL = OneLogin_Saml2_Constants.NAMEID_EMAIL_ADDRESS
NAMEID_UNSPECIFIED = OneLogin_Saml2_Constants.NAMEID_UNSPECIFIED
NAMEID_PERSISTENT = OneLogin_Saml2_Constants.NAMEID_PERSISTENT

# Attribute names IdPs use for the profile, compared without case: Okta's attribute
# statements (email, firstName, lastName, displayName), Entra's claim URIs, the LDAP
# OIDs some IdPs send, and OIDC-style names.
_CLAIMS = {
    "email": (
        "email",
        "mail",
        "emailaddress",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        "urn:oid:0.9.2342.19200300.100.1.3",
    ),
    "given_name": (
        "firstname",
        "givenname",
        "given_name",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
        "urn:oid:2.5.4.42",
    ),
    "family_name": (
        "lastname",
        "surname",
        "sn",
        "family_name",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
        "urn:oid:2.5.4.4",
    ),
    "display_name": (
        "displayname",
        "display_name",
        "http://schemas.microsoft.com/identity/claims/displayname",
        "urn:oid:2.16.840.1.113730.3.1.241",
    ),
}


def sp_urls(org: Org) -> SpValues:
    """The org's SP values (directory.services.idp.sp_values: the one place they are made)."""
    return sp_values(org=org)


def _idp_certificates(idp: IdentityProvider) -> dict[str, Any]:
    pems = [c["pem"] for c in idp.certificates if c.get("pem")]
    if len(pems) > 1:  # a rollover: either certificate verifies
        return {"x509certMulti": {"signing": pems}}
    return {"x509cert": pems[0] if pems else ""}


def toolkit_settings(org: Org, idp: IdentityProvider) -> dict[str, Any]:
    """python3-saml's settings for the org: strict, a signed assertion required, no
    deprecated algorithm (SHA-1), unsigned AuthnRequests (we hold no SP key)."""
    urls = sp_urls(org)
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": urls.entity_id,
            "assertionConsumerService": {
                "url": urls.acs_url,
                "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST,
            },
            "NameIDFormat": NAMEID_UNSPECIFIED,
        },
        "idp": {
            "entityId": idp.entity_id,
            "singleSignOnService": {
                "url": idp.sso_url,
                "binding": OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT,
            },
            **_idp_certificates(idp),
        },
        "security": {
            "authnRequestsSigned": False,
            "wantAssertionsSigned": True,
            "wantMessagesSigned": False,
            "wantAssertionsEncrypted": False,
            "wantNameId": True,
            "wantNameIdEncrypted": False,
            "wantAttributeStatement": False,
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,
            "signatureAlgorithm": OneLogin_Saml2_Constants.RSA_SHA256,
            "digestAlgorithm": OneLogin_Saml2_Constants.SHA256,
        },
    }


def sp_metadata(org: Org, idp: IdentityProvider) -> str:
    """Our SP metadata XML for the org. It needs no IdP metadata: the admin pastes it
    into the IdP before the IdP's metadata exists."""
    toolkit = OneLogin_Saml2_Settings(toolkit_settings(org, idp), sp_validation_only=True)
    xml = toolkit.get_sp_metadata()
    errors = toolkit.validate_metadata(xml)
    if errors:
        raise ValueError(f"Invalid SP metadata: {', '.join(errors)}")
    return xml.decode() if isinstance(xml, bytes) else str(xml)


def _request_data(request: HttpRequest, *, url: str) -> dict[str, Any]:
    """The request as python3-saml reads it, at `url` (one of ours, under SITE_URL)."""
    site = urlsplit(settings.SITE_URL)
    return {
        "https": "on" if site.scheme == "https" else "off",
        "http_host": site.netloc,
        "script_name": urlsplit(url).path,
        "get_data": {},
        "post_data": {"SAMLResponse": request.POST["SAMLResponse"]}
        if "SAMLResponse" in request.POST
        else {},
    }


class _StrictResponse(OneLogin_Saml2_Response):  # type: ignore[misc]
    """python3-saml's response, with the checks it keeps loose made exact."""

    def is_valid(
        self,
        request_data: dict[str, Any],
        request_id: str | None = None,
        raise_exceptions: bool = False,
    ) -> bool:
        if not super().is_valid(request_data, request_id, raise_exceptions):
            return False
        problem = self._exact_problem()
        if problem:
            self._error = problem
            return False
        return True

    def _exact_problem(self) -> str:
        acs_url = self._settings.get_sp_data()["assertionConsumerService"]["url"]
        destination = self.document.get("Destination")
        if destination is not None and destination != acs_url:
            return f"The response's Destination is not {acs_url}"
        in_response_to = self.get_in_response_to()
        # The subject confirmation of the signed assertion (python3-saml's query follows
        # the signature's reference): its Recipient must be our ACS exactly and its
        # InResponseTo the response's, so an unsigned envelope cannot drop or swap it.
        confirmations = self._query_assertion(
            "/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
        )
        for data in confirmations:
            if data.get("Recipient") != acs_url:
                return f"The assertion's Recipient is not {acs_url}"
            if data.get("InResponseTo") != in_response_to:
                return "The assertion's InResponseTo is not the response's"
        return ""


class SamlAuth(OneLogin_Saml2_Auth):  # type: ignore[misc]
    response_class = _StrictResponse


def saml_auth(request: HttpRequest, *, org: Org, idp: IdentityProvider, url: str) -> SamlAuth:
    """python3-saml for the org's IdP, reading `request` as if it came to `url`."""
    return SamlAuth(_request_data(request, url=url), old_settings=toolkit_settings(org, idp))


class UnusableIdentity(Exception):
    """A verified response that names no user we can match."""


def _first(values: Any) -> str:
    for value in values or []:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _claim(attributes: dict[str, Any], friendly: dict[str, Any], name: str) -> str:
    wanted = _CLAIMS[name]
    for source in (attributes, friendly):
        by_name = {key.lower(): values for key, values in source.items()}
        for key in wanted:
            value = _first(by_name.get(key))
            if value:
                return value
    return ""


def identity_of(auth: SamlAuth) -> Identity:
    """Who a verified response names, read from python3-saml's verified result (the
    signed assertion) only. The NameID is the subject; it is also the name matched to
    userName when its format is emailAddress or unspecified. A persistent NameID is an
    opaque subject: the email attribute is matched then. A transient one (or any other
    format) changes at every sign-in and cannot identify anyone."""
    name_id = (auth.get_nameid() or "").strip()
    name_format = auth.get_nameid_format() or NAMEID_UNSPECIFIED
    attributes = auth.get_attributes() or {}
    friendly = auth.get_friendlyname_attributes() or {}
    email = _claim(attributes, friendly, "email")
    if name_format in (NAMEID_EMAIL, NAMEID_UNSPECIFIED):
        user_name = name_id
    elif name_format == NAMEID_PERSISTENT:
        user_name = email
    else:
        raise UnusableIdentity(f"A NameID of format {name_format} does not identify a user")
    if not name_id or not user_name:
        raise UnusableIdentity("The assertion names no user (no NameID, or no email)")
    return Identity(
        subject=name_id,
        user_name=user_name,
        email=email,
        given_name=_claim(attributes, friendly, "given_name"),
        family_name=_claim(attributes, friendly, "family_name"),
        display_name=_claim(attributes, friendly, "display_name"),
    )
