"""/api/v1/orgs/<slug>/idp/: the org's end-user IdP, as the console and the CLI save it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from rest_framework.test import APIClient

from directory.models import AuditEvent, IdentityProvider, Org
from tests.idp_metadata import OKTA_ENTITY_ID, OKTA_SSO_URL, make_cert, okta_metadata
from tokens.services import api_key_issue

URL = "/api/v1/orgs/acme/idp/"


def client_for(user: User, read_only: bool = False) -> APIClient:
    client = APIClient()
    key = api_key_issue(user=user, read_only=read_only).plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def api(admin: User) -> APIClient:
    return client_for(admin)


@override_settings(SITE_URL="https://cc.example")
def test_saml_metadata_put_over_the_api_sets_up_sign_in(api: APIClient, org: Org) -> None:
    cert = make_cert()
    r = api.put(URL, {"provider": "okta", "protocol": "saml", "metadata_xml": okta_metadata(cert),
                      "idp_initiated": True, "jit": True}, format="json")  # fmt: skip
    assert r.status_code == 200, r.json()
    doc = r.json()
    assert "metadata_xml" not in doc
    assert (doc["entity_id"], doc["sso_url"], doc["signin_ready"]) == (
        OKTA_ENTITY_ID, OKTA_SSO_URL, True
    )  # fmt: skip
    assert doc["certificates"] == [
        {"sha256": cert.sha256, "not_after": cert.not_after.strftime("%Y-%m-%dT%H:%M:%SZ")}
    ]
    assert (doc["idp_initiated"], doc["jit"]) == (True, True)
    assert doc["sp"] == {
        "signin_url": "https://cc.example/sso/acme/",
        "entity_id": "https://cc.example/sso/acme/saml/metadata/",
        "acs_url": "https://cc.example/sso/acme/saml/acs/",
        "metadata_url": "https://cc.example/sso/acme/saml/metadata/",
        "oidc_redirect_uri": "https://cc.example/sso/acme/oidc/callback/",
    }
    assert api.get(URL).json() == doc
    assert set(AuditEvent.objects.values_list("action", "via")) == {
        ("idp.configure", "api"), ("idp.jit", "api")
    }  # fmt: skip


def test_the_client_secret_is_written_never_read(api: APIClient, org: Org) -> None:
    body = {"provider": "entra", "protocol": "oidc", "issuer": "https://login.example/t/v2.0",
            "client_id": "cc", "client_secret": "api-secret"}  # fmt: skip
    doc = api.put(URL, body, format="json").json()
    assert doc["client_secret_set"] is True and "api-secret" not in str(doc)
    assert (doc["scopes"], doc["username_claim"], doc["signin_ready"]) == (
        "openid email profile", "email", True
    )  # fmt: skip
    body.pop("client_secret")
    api.put(URL, {**body, "client_id": "cc2"}, format="json")
    idp = IdentityProvider.objects.get(org=org)
    assert (idp.client_id, idp.client_secret) == ("cc2", "api-secret")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"protocol": "saml", "metadata_xml": "<nope"}, "metadata", "not well-formed XML"),
        ({"protocol": "saml", "metadata_url": "https://127.0.0.1/m"}, "metadata_url", "loopback"),
        ({"protocol": "saml", "issuer": "https://i.example"}, "issuer", "setting of OpenID"),
        ({"protocol": "oidc", "issuer": "ftp://i.example"}, "issuer", "https URL"),
        ({"protocol": "oidc", "username_claim": "sub"}, "username_claim", "valid choice"),
    ],
)
def test_bad_settings_are_a_400_naming_the_field_and_save_nothing(
    api: APIClient, org: Org, body: dict[str, str], field: str, message: str
) -> None:
    r = api.put(URL, {"provider": "okta", **body}, format="json")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["field"] == field and message in error["message"]
    assert not IdentityProvider.objects.exists()


def test_a_read_only_key_cannot_change_the_idp(admin: User, org: Org) -> None:
    reader = client_for(admin, read_only=True)
    r = reader.put(URL, {"provider": "okta", "protocol": "saml"}, format="json")
    assert r.status_code == 403 and not IdentityProvider.objects.exists()
