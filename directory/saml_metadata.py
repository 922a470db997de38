"""A SAML IdP's metadata, read into what sign-in needs: the IdP's entity ID, its SSO URL
(HTTP-Redirect binding, the one our AuthnRequests use) and its signing certificates.

The XML is parsed by python3-saml's OneLogin_Saml2_IdPMetadataParser, whose parser
refuses DTDs and entity declarations (no XXE, no entity expansion) and never touches
the network. Each certificate is read with `cryptography` for its SHA-256 fingerprint
(what Okta and Entra show) and its expiry. At most two are kept: an IdP lists its
current certificate and, during a rollover, the next one.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from onelogin.saml2.xmlparser import DTDForbidden, EntitiesForbidden, NotSupportedError

from directory.errors import InvalidValue

MAX_METADATA_BYTES = 1_000_000
MAX_CERTIFICATES = 2
# The console and the hourly summary warn about a certificate this close to its expiry.
EXPIRY_WARNING = timedelta(days=30)

Certificate = dict[str, str]  # {"pem", "sha256", "not_after"}: IdentityProvider.certificates

_SIGNING_KEYS = (
    "./md:KeyDescriptor[not(contains(@use, 'encryption'))]/ds:KeyInfo/ds:X509Data"
    "/ds:X509Certificate"
)


_NO_DTD = "The metadata declares a DTD or entities, which are refused (XML external entities)"


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str
    sso_url: str
    certificates: list[Certificate]


def _refuse(message: str) -> InvalidValue:
    return InvalidValue(message, field="metadata")


def metadata_parse(xml: str | bytes) -> IdpMetadata:
    """Read the IdP's entity ID, SSO URL and signing certificates from its metadata.

    Raises InvalidValue (field "metadata") saying what is wrong: not XML, a DTD or
    entity declaration, no IDPSSODescriptor, no HTTP-Redirect SSO URL, no signing
    certificate, or a certificate that is not X.509. Reads nothing but `xml`."""
    raw = xml.encode() if isinstance(xml, str) else xml
    if len(raw) > MAX_METADATA_BYTES:
        raise _refuse(f"The metadata is larger than {MAX_METADATA_BYTES:,} bytes")
    if not raw.strip():
        raise _refuse("The metadata is empty")
    try:
        data = cast(
            dict[str, Any],
            OneLogin_Saml2_IdPMetadataParser.parse(
                raw, required_sso_binding=OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT
            ),
        )
    except (DTDForbidden, EntitiesForbidden, NotSupportedError):
        raise _refuse(_NO_DTD) from None
    except etree.XMLSyntaxError as e:
        if re.search(r"\bentity\b", str(e.msg), re.IGNORECASE):  # lxml refused one itself
            raise _refuse(_NO_DTD) from None
        raise _refuse(f"The metadata is not well-formed XML ({e.msg})") from None
    except ValueError as e:
        raise _refuse(f"The metadata cannot be read ({str(e)[:200]})") from None
    idp = cast(dict[str, Any], data.get("idp") or {})
    if not idp:
        raise _refuse("The metadata has no EntityDescriptor with an IDPSSODescriptor")
    entity_id = str(idp.get("entityId") or "").strip()
    if not entity_id:
        raise _refuse("The metadata's EntityDescriptor has no entityID")
    if len(entity_id) > 500:
        raise _refuse("The IdP's entity ID is longer than 500 characters")
    sso_url = str((idp.get("singleSignOnService") or {}).get("url") or "").strip()
    if not sso_url:
        raise _refuse("The metadata has no SingleSignOnService with the HTTP-Redirect binding")
    try:
        URLValidator(schemes=["https", "http"])(sso_url)
    except ValidationError:
        raise _refuse(f"The IdP's SSO URL {sso_url[:200]!r} is not an http(s) URL") from None
    if len(sso_url) > 1000:
        raise _refuse("The IdP's SSO URL is longer than 1000 characters")
    certificates = _signing_certificates(raw, idp)
    if not certificates:
        raise _refuse('The metadata has no signing certificate (KeyDescriptor use="signing")')
    return IdpMetadata(entity_id=entity_id, sso_url=sso_url, certificates=certificates)


def _signing_certificates(raw: bytes, idp: dict[str, Any]) -> list[Certificate]:
    multi = idp.get("x509certMulti")
    if multi:
        texts = [str(t) for t in multi.get("signing", [])]
    elif idp.get("x509cert"):
        # The parser also puts an IdP's only certificate here when its KeyDescriptor is
        # for encryption alone: that one signs nothing, so it does not count.
        texts = [str(idp["x509cert"])] if _has_signing_key(raw) else []
    else:
        texts = []
    certificates: list[Certificate] = []
    for text in texts:
        certificate = certificate_read(text)
        if all(c["sha256"] != certificate["sha256"] for c in certificates):
            certificates.append(certificate)
    return certificates[:MAX_CERTIFICATES]


def _has_signing_key(raw: bytes) -> bool:
    # The same descriptor the parser reads: the first EntityDescriptor's first
    # IDPSSODescriptor.
    dom = OneLogin_Saml2_XML.to_etree(raw)
    entity = OneLogin_Saml2_XML.query(dom, "//md:EntityDescriptor")[0]
    descriptor = OneLogin_Saml2_XML.query(entity, "./md:IDPSSODescriptor")[0]
    return bool(OneLogin_Saml2_XML.query(descriptor, _SIGNING_KEYS))


def certificate_read(text: str) -> Certificate:
    """{"pem", "sha256", "not_after"} of one certificate, given as PEM or as the base64
    of an X509Certificate element. Raises InvalidValue (field "metadata")."""
    body = "".join(
        line
        for line in text.strip().splitlines()
        if not line.startswith("-----")  # PEM armour
    )
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise _refuse("A certificate in the metadata is not a valid X.509 certificate") from None
    return {
        "pem": cert.public_bytes(Encoding.PEM).decode(),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def not_after(certificate: Certificate) -> datetime:
    """When the certificate expires (an aware datetime)."""
    return datetime.fromisoformat(certificate["not_after"]).astimezone(UTC)


def certificates_expiring(
    certificates: list[Certificate], *, now: datetime, within: timedelta = EXPIRY_WARNING
) -> list[Certificate]:
    """The certificates that expire within `within` of `now`, or have expired."""
    return [c for c in certificates if not_after(c) <= now + within]
