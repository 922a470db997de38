"""SAML IdP metadata as Okta and Entra ID publish it, with certificates made here."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

OKTA_ENTITY_ID = "http://www.okta.com/exk1fcia6d6EMsf331d8"
OKTA_SSO_URL = "https://acme.okta.example/app/acme_cc_1/exk1fcia6d6EMsf331d8/sso/saml"
ENTRA_TENANT = "0c3b8b52-7c2e-4e4e-9a6a-2f9c1f5c1a11"
ENTRA_ENTITY_ID = f"https://sts.windows.net/{ENTRA_TENANT}/"
ENTRA_SSO_URL = f"https://login.microsoftonline.com/{ENTRA_TENANT}/saml2"

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


@dataclass(frozen=True)
class Cert:
    pem: str
    b64: str  # the X509Certificate element's text
    sha256: str  # AB:CD:... as Okta and Entra show it
    not_after: datetime


_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(cn: str = "acme.okta.example", *, days: int = 365) -> Cert:
    """A self-signed certificate valid until `days` from now (in the past if negative)."""
    now = datetime.now(UTC).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1 + max(0, -days) + 365 * (days < 0)))
        .not_valid_after(now + timedelta(days=days))
        .sign(_KEY, hashes.SHA256())
    )
    return Cert(
        pem=cert.public_bytes(Encoding.PEM).decode(),
        b64=base64.b64encode(cert.public_bytes(Encoding.DER)).decode(),
        sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_after=cert.not_valid_after_utc,
    )


def _key(cert: Cert, use: str | None = "signing", *, prefix: str = "md:") -> str:
    ds = "ds:" if prefix else ""
    xmlns = (
        ' xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
        if prefix
        else (' xmlns="http://www.w3.org/2000/09/xmldsig#"')
    )
    use_attr = f' use="{use}"' if use else ""
    return (
        f"<{prefix}KeyDescriptor{use_attr}><{ds}KeyInfo{xmlns}><{ds}X509Data>"
        f"<{ds}X509Certificate>{cert.b64}</{ds}X509Certificate></{ds}X509Data></{ds}KeyInfo>"
        f"</{prefix}KeyDescriptor>"
    )


def okta_metadata(
    *certs: Cert,
    entity_id: str = OKTA_ENTITY_ID,
    sso_url: str = OKTA_SSO_URL,
    bindings: tuple[str, ...] = (POST, REDIRECT),
    use: str | None = "signing",
) -> str:
    """Okta's "Identity Provider metadata" of a SAML app (md: prefixes, one signing key)."""
    certs = certs or (make_cert(),)
    keys = "".join(_key(c, use) for c in certs)
    services = "".join(
        f'<md:SingleSignOnService Binding="{b}" Location="{sso_url}"/>' for b in bindings
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<md:EntityDescriptor entityID="{entity_id}" '
        'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">'
        '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"
        f"{services}"
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    )


def entra_metadata(*certs: Cert, entity_id: str = ENTRA_ENTITY_ID) -> str:
    """Entra ID's federation metadata: default namespace, a signature over the document,
    WS-Federation role descriptors with keys of their own before the IDPSSODescriptor,
    and, during a rollover, two signing keys."""
    certs = certs or (make_cert("accounts.accesscontrol.windows.net"),)
    keys = "".join(_key(c, prefix="") for c in certs)
    other = make_cert("ws-federation.example")
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<EntityDescriptor ID="_4f2b0a5e-1c7e-4a43-9a3e-6a7d0c9e1f00" '
        f'entityID="{entity_id}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">'
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'
        '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        '<Reference URI="#_4f2b0a5e-1c7e-4a43-9a3e-6a7d0c9e1f00"><DigestValue>AAAA</DigestValue>'
        "</Reference></SignedInfo><SignatureValue>AAAA</SignatureValue></Signature>"
        '<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" '
        'protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">'
        f"{_key(other, prefix='')}</RoleDescriptor>"
        '<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{keys}"
        f'<SingleLogoutService Binding="{REDIRECT}" Location="{ENTRA_SSO_URL}"/>'
        f'<SingleSignOnService Binding="{REDIRECT}" Location="{ENTRA_SSO_URL}"/>'
        f'<SingleSignOnService Binding="{POST}" Location="{ENTRA_SSO_URL}"/>'
        "</IDPSSODescriptor></EntityDescriptor>"
    )


@dataclass
class MetadataServer:
    """An IdP's metadata URL on 127.0.0.1: `documents` maps a path to the body served
    there; `requests` lists the paths asked for."""

    url: str
    documents: dict[str, bytes]
    requests: list[str] = field(default_factory=list)


@contextmanager
def metadata_server(documents: dict[str, str | bytes]) -> Iterator[MetadataServer]:
    """Serve `documents` over plain HTTP on a free port of 127.0.0.1, for the block."""
    served = MetadataServer(
        url="", documents={k: v.encode() if isinstance(v, str) else v for k, v in documents.items()}
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            served.requests.append(self.path)
            body = served.documents.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()
