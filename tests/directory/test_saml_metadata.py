from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from directory.errors import InvalidValue
from directory.saml_metadata import certificates_expiring, metadata_parse, not_after
from tests.idp_metadata import (
    ENTRA_ENTITY_ID,
    ENTRA_SSO_URL,
    OKTA_ENTITY_ID,
    OKTA_SSO_URL,
    POST,
    Cert,
    entra_metadata,
    make_cert,
    okta_metadata,
)

BROKEN = Cert(pem="", b64="AAAA", sha256="", not_after=datetime(2030, 1, 1, tzinfo=UTC))


def test_it_reads_oktas_metadata() -> None:
    cert = make_cert(days=200)
    parsed = metadata_parse(okta_metadata(cert))
    assert (parsed.entity_id, parsed.sso_url) == (OKTA_ENTITY_ID, OKTA_SSO_URL)
    (only,) = parsed.certificates
    assert only["sha256"] == cert.sha256 and len(only["sha256"]) == 95
    assert only["not_after"] == cert.not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not_after(only) == cert.not_after
    assert only["pem"] == cert.pem


def test_it_reads_entras_metadata_with_two_certificates_during_a_rollover() -> None:
    current, next_ = make_cert("current"), make_cert("next", days=700)
    parsed = metadata_parse(entra_metadata(current, next_).encode())
    assert (parsed.entity_id, parsed.sso_url) == (ENTRA_ENTITY_ID, ENTRA_SSO_URL)
    # The WS-Federation role descriptor's key is not the SAML IdP's.
    assert [c["sha256"] for c in parsed.certificates] == [current.sha256, next_.sha256]


def test_it_keeps_at_most_two_certificates_and_each_once() -> None:
    a, b, c = make_cert("a"), make_cert("b"), make_cert("c")
    parsed = metadata_parse(okta_metadata(a, a, b, c))
    assert [x["sha256"] for x in parsed.certificates] == [a.sha256, b.sha256]


def test_a_key_without_use_signs() -> None:
    cert = make_cert()
    assert metadata_parse(okta_metadata(cert, use=None)).certificates[0]["sha256"] == cert.sha256


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("", "empty"),
        ("<md:EntityDescriptor", "not well-formed XML"),
        ("<html><body>Sign in</body></html>", "no EntityDescriptor with an IDPSSODescriptor"),
        (okta_metadata(entity_id=""), "no entityID"),
        (okta_metadata(bindings=(POST,)), "no SingleSignOnService with the HTTP-Redirect"),
        (okta_metadata(sso_url="javascript:alert(1)"), r"not an http\(s\) URL"),
        (okta_metadata(use="encryption"), "no signing certificate"),
        (okta_metadata(BROKEN), "not a valid X.509 certificate"),
        ("x" * 1_000_001, "larger than 1,000,000 bytes"),
    ],
    ids=[
        "empty",
        "not-xml",
        "not-metadata",
        "no-entity-id",
        "post-only",
        "javascript-url",
        "encryption-key-only",
        "broken-certificate",
        "too-large",
    ],  # fmt: skip
)
def test_it_refuses_metadata_sign_in_cannot_use(xml: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message) as e:
        metadata_parse(xml)
    assert e.value.field == "metadata"


def test_it_refuses_a_dtd_with_an_external_entity() -> None:
    # XXE: the entity would read a local file into the entity ID.
    evil = (
        okta_metadata()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<?xml version="1.0"?><!DOCTYPE md:EntityDescriptor '
            '[<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        )
        .replace(OKTA_ENTITY_ID, "&xxe;")
    )
    with pytest.raises(InvalidValue, match="DTD or entities"):
        metadata_parse(evil)


def test_it_refuses_entity_expansion() -> None:
    bomb = (
        okta_metadata()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<?xml version="1.0"?><!DOCTYPE md:EntityDescriptor [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        )
        .replace(OKTA_ENTITY_ID, "&b;")
    )
    with pytest.raises(InvalidValue, match="DTD or entities"):
        metadata_parse(bomb)


def test_it_refuses_a_bare_doctype() -> None:
    with pytest.raises(InvalidValue, match="DTD"):
        metadata_parse(
            okta_metadata().replace(
                '<?xml version="1.0" encoding="UTF-8"?>',
                '<!DOCTYPE md:EntityDescriptor SYSTEM "http://127.0.0.1:1/evil.dtd">',
            )
        )


def test_certificates_expiring_within_30_days_include_expired_ones() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    certs = [
        {"pem": "", "sha256": "soon", "not_after": "2030-01-30T00:00:00Z"},
        {"pem": "", "sha256": "later", "not_after": "2030-02-01T00:00:00Z"},
        {"pem": "", "sha256": "gone", "not_after": "2029-12-01T00:00:00Z"},
    ]
    assert [c["sha256"] for c in certificates_expiring(certs, now=now)] == ["soon", "gone"]
    assert certificates_expiring(certs, now=now, within=timedelta(days=40)) == certs
