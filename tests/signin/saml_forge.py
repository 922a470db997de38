"""SAML responses the tests build and sign themselves, as an IdP (or an attacker) would:
keys and certificates made with cryptography, signatures made with python3-saml's
signer (xmlsec), every field of the response and its assertion chosen by the test."""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils

NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "ds": C.NS_DS}


@dataclass(frozen=True)
class Keys:
    """A signing key and its self-signed certificate, both PEM."""

    key_pem: str
    cert_pem: str

    @property
    def sha256(self) -> str:
        der = x509.load_pem_x509_certificate(self.cert_pem.encode()).public_bytes(
            serialization.Encoding.DER
        )
        return hashlib.sha256(der).hexdigest()

    def certificate(self) -> dict[str, str]:
        """As IdentityProvider.certificates keeps it."""
        cert = x509.load_pem_x509_certificate(self.cert_pem.encode())
        return {
            "pem": self.cert_pem,
            "sha256": self.sha256,
            "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@cache
def keys(name: str = "idp") -> Keys:
    """A key pair per name, made once per test process."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Test {name}")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return Keys(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode(),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


def saml_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return "_" + uuid.uuid4().hex


@dataclass(frozen=True)
class Assertion:
    """One assertion's fields; `xml()` renders it unsigned, `signed()` signed."""

    issuer: str
    audience: str
    recipient: str
    name_id: str = "alice@acme.example"
    name_id_format: str = C.NAMEID_EMAIL_ADDRESS
    in_response_to: str | None = None
    id: str = field(default_factory=new_id)
    not_before: timedelta = timedelta(minutes=-1)  # relative to now
    not_on_or_after: timedelta = timedelta(minutes=5)
    confirmation_not_on_or_after: timedelta = timedelta(minutes=5)
    attributes: dict[str, str] = field(default_factory=dict)

    def but(self, **changes: object) -> Assertion:
        return replace(self, **changes)  # type: ignore[arg-type]

    def xml(self) -> str:
        now = datetime.now(UTC)
        irt = f" InResponseTo={quoteattr(self.in_response_to)}" if self.in_response_to else ""
        attributes = "".join(
            f"<saml:Attribute Name={quoteattr(name)}"
            ' NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">'
            f'<saml:AttributeValue xsi:type="xs:string">{escape(value)}</saml:AttributeValue>'
            "</saml:Attribute>"
            for name, value in self.attributes.items()
        )
        statement = (
            f"<saml:AttributeStatement>{attributes}</saml:AttributeStatement>" if attributes else ""
        )
        return (
            f'<saml:Assertion xmlns:saml="{C.NS_SAML}" xmlns:xs="{C.NS_XS}"'
            f' xmlns:xsi="{C.NS_XSI}" ID="{self.id}" Version="2.0"'
            f' IssueInstant="{saml_time(now)}">'
            f"<saml:Issuer>{escape(self.issuer)}</saml:Issuer>"
            "<saml:Subject>"
            f"<saml:NameID Format={quoteattr(self.name_id_format)}>{escape(self.name_id)}"
            "</saml:NameID>"
            '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            "<saml:SubjectConfirmationData"
            f' NotOnOrAfter="{saml_time(now + self.confirmation_not_on_or_after)}"'
            f" Recipient={quoteattr(self.recipient)}{irt}/>"
            "</saml:SubjectConfirmation>"
            "</saml:Subject>"
            f'<saml:Conditions NotBefore="{saml_time(now + self.not_before)}"'
            f' NotOnOrAfter="{saml_time(now + self.not_on_or_after)}">'
            "<saml:AudienceRestriction>"
            f"<saml:Audience>{escape(self.audience)}</saml:Audience>"
            "</saml:AudienceRestriction>"
            "</saml:Conditions>"
            f'<saml:AuthnStatement AuthnInstant="{saml_time(now)}" SessionIndex="{new_id()}">'
            "<saml:AuthnContext><saml:AuthnContextClassRef>"
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            "</saml:AuthnContextClassRef></saml:AuthnContext>"
            "</saml:AuthnStatement>"
            f"{statement}"
            "</saml:Assertion>"
        )

    def signed(self, by: Keys | None = None, *, sha1: bool = False) -> str:
        return sign(self.xml(), by or keys(), sha1=sha1)


def sign(xml: str, by: Keys, *, sha1: bool = False) -> str:
    """`xml` with an enveloped signature on its root element (after its Issuer)."""
    algorithms = (C.RSA_SHA1, C.SHA1) if sha1 else (C.RSA_SHA256, C.SHA256)
    signed = OneLogin_Saml2_Utils.add_sign(
        xml, by.key_pem, by.cert_pem, sign_algorithm=algorithms[0], digest_algorithm=algorithms[1]
    )
    return signed.decode() if isinstance(signed, bytes) else str(signed)


def response(
    *assertions: str,
    issuer: str,
    destination: str | None,
    in_response_to: str | None = None,
    extensions: str = "",
    status: str = C.STATUS_SUCCESS,
) -> str:
    """A samlp:Response around the given assertions (XML strings), unsigned."""
    attrs = f' Destination="{destination}"' if destination is not None else ""
    if in_response_to:
        attrs += f" InResponseTo={quoteattr(in_response_to)}"
    ext = f"<samlp:Extensions>{extensions}</samlp:Extensions>" if extensions else ""
    return (
        f'<samlp:Response xmlns:samlp="{C.NS_SAMLP}" xmlns:saml="{C.NS_SAML}"'
        f' ID="{new_id()}" Version="2.0" IssueInstant="{saml_time(datetime.now(UTC))}"{attrs}>'
        f"<saml:Issuer>{escape(issuer)}</saml:Issuer>{ext}"
        f'<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>'
        f"{''.join(assertions)}"
        "</samlp:Response>"
    )


def encode(xml: str) -> str:
    """The SAMLResponse form value (HTTP-POST binding)."""
    return base64.b64encode(xml.encode()).decode()


def authn_request_of(location: str) -> tuple[etree._Element, dict[str, list[str]]]:
    """The AuthnRequest (HTTP-Redirect binding: deflated, base64) in a redirect to the
    IdP, and the redirect's query."""
    query = parse_qs(urlsplit(location).query)
    raw = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
    return etree.fromstring(raw), query
