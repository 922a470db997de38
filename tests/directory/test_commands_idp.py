from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from directory.models import AuditEvent, IdentityProvider, Org
from tests.idp_metadata import (
    ENTRA_ENTITY_ID,
    OKTA_ENTITY_ID,
    OKTA_SSO_URL,
    POST,
    entra_metadata,
    make_cert,
    metadata_server,
    okta_metadata,
)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_idp_configure_saves_the_provider_and_protocol(org: Org) -> None:
    out = run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml")
    assert "Saved the identity provider of acme: Okta over SAML 2.0" in out
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.provider, idp.protocol, idp.is_saved) == ("okta", "saml", True)


def test_idp_configure_again_replaces_the_settings(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "oidc")
    out = run(
        "idp",
        "configure",
        "acme",
        "--provider",
        "entra",
        "--protocol",
        "oidc",
        "--issuer",
        "https://login.microsoftonline.com/t/v2.0",
    )
    assert "Microsoft Entra ID over OpenID Connect" in out
    idp = IdentityProvider.objects.get()
    assert (idp.provider, idp.protocol, idp.issuer) == (
        "entra",
        "oidc",
        "https://login.microsoftonline.com/t/v2.0",
    )


def test_idp_configure_touches_only_its_own_org(org: Org, other_org: Org) -> None:
    run("idp", "configure", "globex", "--provider", "other", "--protocol", "saml")
    assert not IdentityProvider.objects.filter(org=org).exists()
    assert IdentityProvider.objects.get(org=other_org).provider == "other"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("configure", "nope", "--provider", "okta", "--protocol", "saml"), "No org"),
        (("configure", "acme", "--provider", "google", "--protocol", "saml"), "invalid choice"),
        (("configure", "acme", "--provider", "okta", "--protocol", "ldap"), "invalid choice"),
        (("configure", "acme", "--protocol", "saml"), "required: --provider"),
        (("configure", "acme", "--provider", "okta"), "required: --protocol"),
    ],
)
def test_idp_configure_refuses_bad_input_and_saves_nothing(
    org: Org, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run("idp", *args)
    assert not IdentityProvider.objects.exists()


def _idp_rows() -> list[tuple[object, ...]]:
    return list(IdentityProvider.objects.values_list())


def _metadata_file(tmp_path: Path, xml: str | bytes, name: str = "metadata.xml") -> str:
    path = tmp_path / name
    path.write_bytes(xml.encode() if isinstance(xml, str) else xml)
    return str(path)


@override_settings(SITE_URL="https://cc.example")
def test_idp_configure_reads_saml_metadata_from_a_file(org: Org, tmp_path: Path) -> None:
    cert = make_cert()
    path = _metadata_file(tmp_path, okta_metadata(cert))
    out = run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
              "--metadata-file", path)  # fmt: skip
    assert f"IdP entity ID: {OKTA_ENTITY_ID}" in out
    assert f"Certificate: SHA-256 {cert.sha256}" in out
    assert "Sign-in: ready" in out
    assert "ACS URL (single sign-on / reply URL): https://cc.example/sso/acme/saml/acs/" in out
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.entity_id, idp.sso_url, idp.signin_ready) == (OKTA_ENTITY_ID, OKTA_SSO_URL, True)


@override_settings(OUTBOUND_ALLOW_PRIVATE=True)
def test_idp_configure_fetches_saml_metadata_from_a_url(org: Org) -> None:
    with metadata_server({"/federationmetadata.xml": entra_metadata()}) as server:
        out = run("idp", "configure", "acme", "--provider", "entra", "--protocol", "saml",
                  "--metadata-url", f"{server.url}/federationmetadata.xml")  # fmt: skip
    assert f"Metadata from: {server.url}/federationmetadata.xml" in out
    assert IdentityProvider.objects.get(org=org).entity_id == ENTRA_ENTITY_ID


def test_idp_configure_refuses_a_private_metadata_url(org: Org) -> None:
    with metadata_server({"/m": okta_metadata()}) as server:
        with pytest.raises(CommandError, match="Only https URLs are allowed"):
            run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
                "--metadata-url", f"{server.url}/m")  # fmt: skip
    assert server.requests == [] and not IdentityProvider.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<EntityDescriptor", "not well-formed XML"),
        (okta_metadata(use="encryption"), "no signing certificate"),
        (okta_metadata(bindings=(POST,)), "HTTP-Redirect binding"),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + okta_metadata().split("?>", 1)[1].replace(OKTA_ENTITY_ID, "&x;"),
            "DTD or entities",
        ),
        (b"x" * 1_000_001, "larger than 1,000,000 bytes"),
    ],
    ids=["not-xml", "no-signing-certificate", "post-binding-only", "xxe", "too-large"],
)
def test_a_bad_metadata_file_changes_nothing(
    org: Org, tmp_path: Path, content: str | bytes, message: str
) -> None:
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
        "--metadata-file", _metadata_file(tmp_path, okta_metadata(), "good.xml"))  # fmt: skip
    before, audited = _idp_rows(), AuditEvent.objects.count()
    with pytest.raises(CommandError, match=message) as e:
        run("idp", "configure", "acme", "--provider", "entra", "--protocol", "saml",
            "--metadata-file", _metadata_file(tmp_path, content))  # fmt: skip
    assert "\n" not in str(e.value)
    assert _idp_rows() == before and AuditEvent.objects.count() == audited


def test_a_missing_metadata_file_is_a_one_line_error(org: Org, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read the metadata file .*nope.xml"):
        run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
            "--metadata-file", str(tmp_path / "nope.xml"))  # fmt: skip
    assert not IdentityProvider.objects.exists()


def test_metadata_comes_from_a_file_or_a_url_not_both(org: Org, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not allowed with argument"):
        run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
            "--metadata-file", _metadata_file(tmp_path, okta_metadata()),
            "--metadata-url", "https://idp.example/m")  # fmt: skip


def test_options_of_the_other_protocol_are_refused(org: Org, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Not for --protocol oidc: --metadata-file"):
        run("idp", "configure", "acme", "--provider", "okta", "--protocol", "oidc",
            "--metadata-file", _metadata_file(tmp_path, okta_metadata()))  # fmt: skip
    with pytest.raises(CommandError, match="Not for --protocol saml: --issuer, --client-id"):
        run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
            "--issuer", "https://i.example", "--client-id", "x")  # fmt: skip
    assert not IdentityProvider.objects.exists()


def _secret_file(tmp_path: Path, secret: str) -> str:
    path = tmp_path / "secret"
    path.write_text(secret)
    return str(path)


@override_settings(SITE_URL="https://cc.example")
def test_idp_configure_saves_an_oidc_client_with_its_secret_from_a_file(
    org: Org, tmp_path: Path
) -> None:
    out = run("idp", "configure", "acme", "--provider", "entra", "--protocol", "oidc",
              "--issuer", "https://login.microsoftonline.com/t/v2.0", "--client-id", "cc-app",
              "--client-secret-file", _secret_file(tmp_path, "s3cret-value\n"),
              "--username-claim", "preferred_username")  # fmt: skip
    assert "Client secret: set (not shown)" in out and "s3cret-value" not in out
    assert "Redirect URI: https://cc.example/sso/acme/oidc/callback/" in out
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.client_id, idp.client_secret, idp.username_claim) == (
        "cc-app", "s3cret-value", "preferred_username"
    )  # fmt: skip
    assert idp.signin_ready
    run("idp", "configure", "acme", "--provider", "entra", "--protocol", "oidc",
        "--scopes", "openid email")  # fmt: skip
    idp.refresh_from_db()
    assert (idp.client_secret, idp.scopes, idp.client_id) == (
        "s3cret-value",
        "openid email",
        "cc-app",
    )
    shown = run("idp", "show", "acme") + run("idp", "show", "acme", "--json")
    assert "s3cret-value" not in shown


def test_an_empty_secret_file_is_refused(org: Org, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="The client secret file is empty"):
        run("idp", "configure", "acme", "--provider", "entra", "--protocol", "oidc",
            "--issuer", "https://i.example", "--client-id", "x",
            "--client-secret-file", _secret_file(tmp_path, " \n"))  # fmt: skip
    assert not IdentityProvider.objects.exists()


def test_a_bad_issuer_is_a_one_line_error(org: Org) -> None:
    with pytest.raises(CommandError, match="^The issuer must be an https URL$"):
        run("idp", "configure", "acme", "--provider", "entra", "--protocol", "oidc",
            "--issuer", "http://login.example")  # fmt: skip
    assert not IdentityProvider.objects.exists()


SHOW_KEYS = ["protocol", "provider", "signin_url", "entity_id", "acs_url", "metadata_url",
             "oidc_redirect_uri", "idp_entity_id", "idp_sso_url", "certificates",
             "jit"]  # fmt: skip


@override_settings(SITE_URL="https://cc.example")
def test_idp_show_json_prints_the_contracts_keys_for_saml(org: Org, tmp_path: Path) -> None:
    cert = make_cert()
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml",
        "--metadata-file", _metadata_file(tmp_path, okta_metadata(cert)))  # fmt: skip
    shown = json.loads(run("idp", "show", "acme", "--json"))
    assert list(shown) == SHOW_KEYS
    assert shown == {
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
    text = run("idp", "show", "acme")
    assert "acme: Okta over SAML 2.0, saved" in text
    assert "SP entity ID (audience): https://cc.example/sso/acme/saml/metadata/" in text


@override_settings(SITE_URL="https://cc.example")
def test_idp_show_json_gives_null_where_oidc_does_not_apply(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "entra", "--protocol", "oidc")
    shown = json.loads(run("idp", "show", "acme", "--json"))
    assert list(shown) == SHOW_KEYS
    assert shown["oidc_redirect_uri"] == "https://cc.example/sso/acme/oidc/callback/"
    assert shown["signin_url"] == "https://cc.example/sso/acme/"
    assert {k for k, v in shown.items() if v is None} == {
        "entity_id", "acs_url", "metadata_url", "idp_entity_id", "idp_sso_url", "certificates"
    }  # fmt: skip
    assert "Sign-in: not set up (give --issuer and --client-id)" in run("idp", "show", "acme")


def test_idp_show_refuses_an_org_without_an_idp(org: Org) -> None:
    with pytest.raises(CommandError, match="No identity provider is saved for acme"):
        run("idp", "show", "acme", "--json")
    with pytest.raises(CommandError, match="No org"):
        run("idp", "show", "nope")


def test_idp_jit_switches_just_in_time_users(org: Org) -> None:
    with pytest.raises(CommandError, match="identity provider"):
        run("idp", "jit", "acme", "on")
    run("idp", "configure", "acme", "--provider", "other", "--protocol", "oidc")
    assert "Just-in-time users are on for acme" in run("idp", "jit", "acme", "on")
    assert json.loads(run("idp", "show", "acme", "--json"))["jit"] is True
    assert "unknown users are refused" in run("idp", "jit", "acme", "off")
    assert IdentityProvider.objects.get(org=org).jit is False
    with pytest.raises(CommandError, match="invalid choice"):
        run("idp", "jit", "acme", "yes")
    assert list(AuditEvent.objects.filter(action="idp.jit").values_list("via", "target")) == [
        ("cli", "on"), ("cli", "off")
    ]  # fmt: skip
