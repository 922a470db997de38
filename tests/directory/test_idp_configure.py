from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import resolve

from directory.encryption import decrypt
from directory.errors import InvalidValue, PreconditionFailed
from directory.models import AuditEvent, IdentityProvider, Org
from directory.services import idp_configure, idp_jit_set
from directory.services.idp import idp_describe, sp_values
from signin import oidc, saml, sso
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


def _saml(org: Org, **kwargs: object) -> IdentityProvider:
    return idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR, **kwargs)  # type: ignore[arg-type]


def _oidc(org: Org, **kwargs: object) -> IdentityProvider:
    return idp_configure(org=org, provider="entra", protocol="oidc", actor=OPERATOR, **kwargs)  # type: ignore[arg-type]


def _stored(org: Org) -> tuple[object, ...]:
    idp = IdentityProvider.objects.get(org=org)
    return tuple(
        getattr(idp, n)
        for n in ("provider", "protocol", *IdentityProvider.SAML_SETTINGS, "saved_at")
    )


def test_a_provider_and_a_protocol_alone_are_saved_but_cannot_sign_in(org: Org) -> None:
    idp = _saml(org)
    assert idp.is_saved and not idp.signin_ready
    assert (idp.entity_id, idp.sso_url, idp.certificates) == ("", "", [])


def test_oktas_metadata_makes_saml_sign_in_ready(org: Org) -> None:
    cert = make_cert()
    idp = _saml(org, metadata_xml=okta_metadata(cert))
    idp.refresh_from_db()
    assert (idp.entity_id, idp.sso_url, idp.metadata_url) == (OKTA_ENTITY_ID, OKTA_SSO_URL, "")
    assert idp.metadata_xml == okta_metadata(cert)
    assert [(c["sha256"], c["pem"]) for c in idp.certificates] == [(cert.sha256, cert.pem)]
    assert idp.signin_ready
    event = AuditEvent.objects.get(action="idp.configure")
    assert (event.actor, event.via, event.target) == ("operator pytest", "cli", "okta/saml")
    assert event.details["certificates"] == [cert.sha256]
    assert event.details["entity_id"] == OKTA_ENTITY_ID


def test_entras_metadata_as_bytes_keeps_both_rollover_certificates(org: Org) -> None:
    a, b = make_cert("a"), make_cert("b", days=800)
    idp = _saml(org, metadata_xml=entra_metadata(a, b).encode())
    assert idp.entity_id == ENTRA_ENTITY_ID
    assert [c["sha256"] for c in idp.certificates] == [a.sha256, b.sha256]


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_metadata_from_a_url_is_fetched_and_kept_with_its_url(org: Org) -> None:
    cert = make_cert()
    with metadata_server({"/app/metadata": okta_metadata(cert)}) as server:
        idp = _saml(org, metadata_url=f"{server.url}/app/metadata")
    assert server.requests == ["/app/metadata"]
    idp.refresh_from_db()
    assert idp.metadata_url == f"{server.url}/app/metadata"
    assert idp.metadata_xml == okta_metadata(cert)
    assert (idp.entity_id, idp.certificates[0]["sha256"]) == (OKTA_ENTITY_ID, cert.sha256)


def test_a_private_metadata_url_is_refused_and_never_requested(org: Org) -> None:
    with metadata_server({"/metadata": okta_metadata()}) as server:
        with pytest.raises(InvalidValue, match="private, loopback") as e:
            _saml(org, metadata_url=f"{server.url.replace('http', 'https')}/metadata")
        with pytest.raises(InvalidValue, match="Only https"):
            _saml(org, metadata_url=f"{server.url}/metadata")
    assert e.value.field == "metadata_url"
    assert server.requests == []
    assert not IdentityProvider.objects.exists()


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_a_metadata_url_that_fails_changes_nothing(org: Org) -> None:
    _saml(org, metadata_xml=okta_metadata())
    before = _stored(org)
    with metadata_server({"/html": "<html>Sign in</html>"}) as server:
        with pytest.raises(InvalidValue, match="answered HTTP 404"):
            _saml(org, metadata_url=f"{server.url}/missing")
        with pytest.raises(InvalidValue, match="no EntityDescriptor"):
            _saml(org, metadata_url=f"{server.url}/html")
    assert _stored(org) == before


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_a_metadata_url_answering_more_than_1_mb_is_refused(org: Org) -> None:
    padding = "<!-- " + "x" * 1_000_000 + " -->"
    with metadata_server({"/big": okta_metadata() + padding}) as server:
        with pytest.raises(InvalidValue, match="larger than 1,000,000 bytes"):
            _saml(org, metadata_url=f"{server.url}/big")
    assert not IdentityProvider.objects.exists()


@pytest.mark.parametrize(
    "metadata",
    [
        "not xml",
        okta_metadata(use="encryption"),
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + okta_metadata().split("?>", 1)[1].replace(OKTA_ENTITY_ID, "&x;"),
    ],
    ids=["not-xml", "no-signing-certificate", "xxe"],
)
def test_bad_metadata_changes_nothing(org: Org, metadata: str) -> None:
    _saml(org, metadata_xml=okta_metadata())
    before = _stored(org)
    with pytest.raises(InvalidValue) as e:
        idp_configure(
            org=org, provider="entra", protocol="saml", metadata_xml=metadata, actor=OPERATOR
        )
    assert e.value.field == "metadata"
    assert _stored(org) == before
    assert AuditEvent.objects.filter(action="idp.configure").count() == 1


def test_metadata_is_given_one_way(org: Org) -> None:
    with pytest.raises(InvalidValue, match="not both"):
        _saml(org, metadata_xml=okta_metadata(), metadata_url="https://idp.example/metadata")


def test_saving_again_without_metadata_keeps_it(org: Org) -> None:
    _saml(org, metadata_xml=okta_metadata())
    idp = idp_configure(org=org, provider="other", protocol="saml", actor=OPERATOR)
    assert idp.provider == "other" and idp.entity_id == OKTA_ENTITY_ID and idp.signin_ready
    idp = _saml(org, idp_initiated=True)
    assert idp.idp_initiated and idp.entity_id == OKTA_ENTITY_ID


def test_switching_protocol_resets_the_others_settings_to_their_defaults(org: Org) -> None:
    _saml(org, metadata_xml=okta_metadata(), idp_initiated=True)
    idp = _oidc(org, issuer="https://login.example/t/v2.0", client_id="abc")
    idp.refresh_from_db()
    assert (idp.entity_id, idp.sso_url, idp.metadata_xml, idp.metadata_url) == ("", "", "", "")
    assert (idp.certificates, idp.idp_initiated) == ([], False)
    _oidc(org, client_secret="s3cret", scopes="openid email", username_claim="preferred_username")
    idp = _saml(org)
    idp.refresh_from_db()
    assert (idp.issuer, idp.client_id, idp.client_secret) == ("", "", "")
    assert (idp.scopes, idp.username_claim) == ("openid email profile", "email")


def test_the_other_protocols_settings_are_refused(org: Org) -> None:
    with pytest.raises(InvalidValue, match="issuer is a setting of OpenID Connect") as e:
        _saml(org, issuer="https://login.example")
    assert e.value.field == "issuer"
    with pytest.raises(InvalidValue, match="metadata_xml is a setting of SAML"):
        _oidc(org, metadata_xml=okta_metadata())
    assert not IdentityProvider.objects.exists()


def _raw_secret(org: Org) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret FROM directory_identityprovider WHERE org_id = %s", [org.id]
        )
        return str(cursor.fetchone()[0])


def test_the_oidc_client_is_saved_with_its_secret_encrypted(org: Org) -> None:
    idp = _oidc(org, issuer="https://login.example/t/v2.0", client_id=" abc ", client_secret="s3")
    idp.refresh_from_db()
    assert (idp.issuer, idp.client_id, idp.client_secret) == (
        "https://login.example/t/v2.0",
        "abc",
        "s3",
    )
    assert (idp.scopes, idp.username_claim) == ("openid email profile", "email")
    assert idp.signin_ready
    raw = _raw_secret(org)
    assert "s3" not in raw and decrypt(raw) == "s3"
    event = AuditEvent.objects.get(action="idp.configure")
    assert event.details["client_secret"] == "replaced" and "s3" not in str(event.details)


def test_saving_without_a_new_secret_keeps_the_old_one(org: Org) -> None:
    _oidc(org, issuer="https://login.example", client_id="abc", client_secret="first")
    idp = _oidc(org, issuer="https://login2.example", client_id="abc")
    idp.refresh_from_db()
    assert (idp.issuer, idp.client_secret) == ("https://login2.example", "first")
    assert AuditEvent.objects.order_by("-id")[0].details["client_secret"] == "kept"
    idp = _oidc(org, client_secret="second")
    idp.refresh_from_db()
    assert (idp.issuer, idp.client_secret) == ("https://login2.example", "second")


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"issuer": "http://login.example"}, "issuer", "https URL"),
        ({"issuer": "login.example"}, "issuer", "https URL"),
        ({"issuer": "https://login.example/?x=1"}, "issuer", "query"),
        ({"issuer": "https://u:p@login.example"}, "issuer", "credentials"),
        ({"client_id": "x" * 201}, "client_id", "longer than 200"),
        ({"scopes": "email profile"}, "scopes", "include openid"),
        ({"username_claim": "sub"}, "username_claim", "email, preferred_username"),
    ],
)
def test_bad_oidc_settings_are_refused(
    org: Org, kwargs: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(InvalidValue, match=message) as e:
        _oidc(org, **kwargs)
    assert e.value.field == field
    assert not IdentityProvider.objects.exists()


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_a_plain_http_issuer_is_allowed_only_with_private_targets(org: Org) -> None:
    assert (
        _oidc(org, issuer="http://127.0.0.1:9000", client_id="cc").issuer == "http://127.0.0.1:9000"
    )


def test_scopes_are_normalised_and_default_when_empty(org: Org) -> None:
    assert _oidc(org, scopes="  openid   email openid groups ").scopes == "openid email groups"
    assert _oidc(org, scopes="").scopes == "openid email profile"


def test_jit_needs_a_saved_idp_and_is_audited(org: Org) -> None:
    with pytest.raises(PreconditionFailed, match="identity provider"):
        idp_jit_set(org=org, enabled=True, actor=OPERATOR)
    _saml(org, metadata_xml=okta_metadata())
    assert idp_jit_set(org=org, enabled=True, actor=OPERATOR).jit
    idp = _saml(org)
    assert idp.jit  # saving the IdP again keeps the switch
    assert not idp_jit_set(org=org, enabled=False, actor=OPERATOR).jit
    assert list(AuditEvent.objects.filter(action="idp.jit").values_list("target", "actor")) == [
        ("on", "operator pytest"),
        ("off", "operator pytest"),
    ]


@override_settings(SITE_URL="https://cc.example")
def test_sp_values_are_the_signin_apps_urls(org: Org) -> None:
    sp = sp_values(org=org)
    assert sp.signin_url == "https://cc.example/sso/acme/"
    assert sp.entity_id == sp.metadata_url == "https://cc.example/sso/acme/saml/metadata/"
    assert sp.acs_url == "https://cc.example/sso/acme/saml/acs/"
    assert sp.oidc_redirect_uri == "https://cc.example/sso/acme/oidc/callback/"
    route = {url: resolve(urlsplit(url).path) for url in vars(sp).values()}
    assert route[sp.signin_url].func is sso.start
    assert route[sp.metadata_url].func is saml.metadata
    assert route[sp.acs_url].func is saml.acs
    assert route[sp.oidc_redirect_uri].func is oidc.callback
    assert {r.kwargs["slug"] for r in route.values()} == {"acme"}


@override_settings(SITE_URL="https://cc.example")
def test_idp_describe_gives_null_for_what_the_protocol_does_not_use(org: Org) -> None:
    cert = make_cert()
    saml_view = idp_describe(idp=_saml(org, metadata_xml=okta_metadata(cert)))
    assert saml_view == {
        "protocol": "saml",
        "provider": "okta",
        "signin_url": "https://cc.example/sso/acme/",
        "entity_id": "https://cc.example/sso/acme/saml/metadata/",
        "acs_url": "https://cc.example/sso/acme/saml/acs/",
        "metadata_url": "https://cc.example/sso/acme/saml/metadata/",
        "oidc_redirect_uri": None,
        "idp_entity_id": OKTA_ENTITY_ID,
        "idp_sso_url": OKTA_SSO_URL,
        "certificates": [
            {"sha256": cert.sha256, "not_after": cert.not_after.strftime("%Y-%m-%dT%H:%M:%SZ")}
        ],
        "jit": False,
    }
    oidc_view = idp_describe(idp=_oidc(org, issuer="https://login.example", client_id="c"))
    assert oidc_view["oidc_redirect_uri"] == "https://cc.example/sso/acme/oidc/callback/"
    assert [k for k, v in oidc_view.items() if v is None] == [
        "entity_id", "acs_url", "metadata_url", "idp_entity_id", "idp_sso_url", "certificates"
    ]  # fmt: skip
