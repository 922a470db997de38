"""OIDC sign-in against a fake provider on 127.0.0.1 whose id_tokens each test signs
itself: the flow (PKCE, state, nonce, client authentication), and every answer that
must be refused with INVALID_RESPONSE, an event and no session."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import time_machine
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.test import Client
from joserfc.jwk import OctKey

from directory.models import (
    EndUser,
    EndUserSession,
    IdentityProvider,
    Org,
    ProvisioningEvent,
    SigninNonce,
)
from directory.services.idp import idp_configure
from directory.services.user_fields import UserFields
from directory.services.users import user_create
from signin.oidc import STATE_COOKIE
from tests.actors import OPERATOR
from tests.signin.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeProvider,
    Grant,
    ec_key,
    rsa_key,
    unsigned,
)

COOKIE = settings.END_USER_SESSION_COOKIE
CALLBACK = "/sso/acme/oidc/callback/"
# The test client's responses (django-stubs types them apart from HttpResponse).
Response = Any


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    yield fake
    fake.close()


@pytest.fixture
def fake(provider: FakeProvider, settings: Any) -> FakeProvider:
    provider.reset()
    settings.OUTBOUND_ALLOW_PRIVATE = True
    return provider


def _configure(org: Org, fake: FakeProvider, **fields: Any) -> IdentityProvider:
    idp = idp_configure(org=org, provider="other", protocol="oidc", actor=OPERATOR)
    idp.issuer = fake.issuer
    idp.client_id = CLIENT_ID
    idp.client_secret = CLIENT_SECRET
    for name, value in fields.items():
        setattr(idp, name, value)
    idp.save()
    return idp


@pytest.fixture
def idp(org: Org, fake: FakeProvider) -> IdentityProvider:
    return _configure(org, fake)


@pytest.fixture
def alice(org: Org) -> EndUser:
    return user_create(org=org, fields=UserFields(user_name="alice@acme.example"), actor=OPERATOR)


@dataclass
class Started:
    state: str
    nonce: str
    challenge: str
    params: dict[str, str]


def _start(client: Client, fake: FakeProvider, query: str = "", slug: str = "acme") -> Started:
    r = client.get(f"/sso/{slug}/{query}")
    assert r.status_code == 302, r.content
    url = urlsplit(r["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{fake.issuer}/authorize"
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    return Started(params["state"], params["nonce"], params["code_challenge"], params)


def _callback(
    client: Client, fake: FakeProvider, started: Started, code: str = "code-1", **grant: Any
) -> Response:
    fake.grants[code] = Grant(nonce=started.nonce, **grant)
    r: Response = client.get(CALLBACK, {"code": code, "state": started.state})
    return r


def _sign_in(client: Client, fake: FakeProvider, **grant: Any) -> Response:
    return _callback(client, fake, _start(client, fake), **grant)


def _signin_events(org: Org) -> list[ProvisioningEvent]:
    return list(org.events.filter(action="signin").order_by("id"))


def _assert_refused(r: Response, org: Org, why: str, reason: str = "INVALID_RESPONSE") -> None:
    assert r.status_code == 403, r.content
    assert reason.encode() in r.content
    assert COOKIE not in r.cookies or r.cookies[COOKIE].value == ""
    assert not EndUserSession.objects.exists()
    event = _signin_events(org)[-1]
    assert event.outcome == ProvisioningEvent.Outcome.FAILURE
    assert event.details["reason"] == reason and event.details["protocol"] == "oidc"
    assert why in event.message, event.message


def _assert_signed_in(r: Response, user: EndUser, to: str = "/me/") -> None:
    assert r.status_code == 302 and r["Location"] == to, r.content
    assert r.cookies[COOKIE].value
    assert EndUserSession.objects.filter(user=user).count() == 1
    event = _signin_events(user.org)[-1]
    assert event.outcome == ProvisioningEvent.Outcome.SUCCESS and event.resource_id == user.pk


# The flow


def test_start_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider
) -> None:
    started = _start(client, fake)
    assert started.params == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": f"{settings.SITE_URL}/sso/acme/oidc/callback/",
        "scope": "openid email profile",
        "state": started.state,
        "nonce": started.nonce,
        "code_challenge": started.challenge,
        "code_challenge_method": "S256",
    }
    assert len(started.state) >= 43 and len(started.nonce) >= 43
    saved = SigninNonce.objects.get(org=org, kind="oidc_state", key=started.state)
    assert saved.data["nonce"] == started.nonce and saved.data["next"] == "/me/"
    assert create_s256_code_challenge(saved.data["verifier"]) == started.challenge
    # The browser holds only a hash of the state, in a short-lived cookie scripts cannot read.
    cookie = client.cookies[STATE_COOKIE]
    assert cookie.value == hashlib.sha256(started.state.encode()).hexdigest()
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/sso/acme/oidc/" and int(cookie["max-age"]) == 600


def test_a_verified_id_token_signs_the_user_in_and_links_its_subject(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    r = _callback(client, fake, started)
    _assert_signed_in(r, alice)
    alice.refresh_from_db()
    assert alice.idp_subject == "00u-alice" and alice.last_signin_at is not None
    # The state is used up, in the database and in the browser.
    assert not SigninNonce.objects.filter(kind="oidc_state").exists()
    assert r.cookies[STATE_COOKIE].value == ""
    assert client.get("/me/").status_code == 200


def test_the_code_verifier_is_sent_and_matches_the_challenge(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    _assert_signed_in(_callback(client, fake, started), alice)
    (request,) = fake.token_requests
    form = request["form"]
    assert form["grant_type"] == "authorization_code" and form["code"] == "code-1"
    assert form["redirect_uri"] == started.params["redirect_uri"]
    assert 43 <= len(form["code_verifier"]) <= 128
    assert create_s256_code_challenge(form["code_verifier"]) == started.challenge
    # client_secret_basic, the discovery document's only method: both parts form-encoded.
    assert "client_secret" not in form
    scheme, encoded = request["authorization"].split(" ")
    user, secret = base64.b64decode(encoded).decode().split(":")
    assert scheme == "Basic" and (unquote(user), unquote(secret)) == (CLIENT_ID, CLIENT_SECRET)


def test_the_client_authenticates_in_the_form_where_the_provider_asks_for_it(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    fake.discovery_overrides["token_endpoint_auth_methods_supported"] = ["client_secret_post"]
    _assert_signed_in(_sign_in(client, fake), alice)
    (request,) = fake.token_requests
    assert request["authorization"] == ""
    assert request["form"]["client_id"] == CLIENT_ID
    assert request["form"]["client_secret"] == CLIENT_SECRET


def test_a_provider_offering_no_usable_client_authentication_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    fake.discovery_overrides["token_endpoint_auth_methods_supported"] = ["private_key_jwt"]
    _assert_refused(_sign_in(client, fake), org, "private_key_jwt")
    assert fake.token_requests == []


def test_the_return_path_is_kept_and_only_ever_relative(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake, "?next=/me/%3Ftab%3Dgroups")
    _assert_signed_in(_callback(client, fake, started), alice, to="/me/?tab=groups")
    started = _start(client, fake, "?next=https://evil.example/")
    r = _callback(client, fake, started, code="code-2")
    assert r.status_code == 302 and r["Location"] == "/me/"


def test_an_es256_id_token_is_accepted(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    fake.keys = [ec_key("ec-1")]
    _assert_signed_in(_sign_in(client, fake), alice)


def test_the_discovery_document_and_keys_are_fetched_once_for_several_sign_ins(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    for code in ("code-1", "code-2", "code-3"):
        r = _callback(client, fake, _start(client, fake), code=code)
        assert r.status_code == 302
    assert fake.fetches["discovery"] == 1 and fake.fetches["jwks"] == 1


def test_a_user_unknown_to_the_directory_is_created_just_in_time_where_the_org_allows(
    client: Client, org: Org, fake: FakeProvider
) -> None:
    _configure(org, fake, jit=True)
    r = _sign_in(client, fake)
    user = org.users.get(user_name="alice@acme.example")
    _assert_signed_in(r, user)
    assert user.source == "jit" and user.given_name == "Alice" and user.family_name == "Liddell"
    assert user.display_name == "Alice Liddell" and user.primary_email == "alice@acme.example"


def test_the_gate_decides_after_a_verified_token(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider
) -> None:
    r = _sign_in(client, fake)
    _assert_refused(r, org, "Just-in-time creation is off", reason="USER_NOT_PROVISIONED")
    assert not org.users.exists()


def test_preferred_username_is_matched_to_user_name_where_configured(
    client: Client, org: Org, fake: FakeProvider, alice: EndUser
) -> None:
    _configure(org, fake, username_claim="preferred_username")
    r = _sign_in(client, fake, claims={"preferred_username": "alice@acme.example", "email": None})
    _assert_signed_in(r, alice)


# Claims the id_token leaves to the userinfo endpoint (node-oidc-provider does so)


def test_claims_missing_from_the_id_token_are_read_from_userinfo(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    fake.userinfo_claims = {"sub": "00u-alice", "email": "alice@acme.example"}
    r = _sign_in(client, fake, claims={"email": None, "given_name": None})
    _assert_signed_in(r, alice)
    assert fake.fetches["userinfo"] == 1


def test_userinfo_about_another_subject_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    fake.userinfo_claims = {"sub": "00u-mallory", "email": "alice@acme.example"}
    r = _sign_in(client, fake, claims={"email": None})
    _assert_refused(r, org, "another subject")


def test_a_missing_user_name_claim_is_refused_naming_the_claim(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    fake.discovery_overrides["userinfo_endpoint"] = None
    r = _sign_in(client, fake, claims={"email": None})
    _assert_refused(r, org, "no 'email' claim")


def test_an_email_the_provider_has_not_verified_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    r = _sign_in(client, fake, claims={"email_verified": False})
    _assert_refused(r, org, "not verified")


# The id_token: signature


def test_a_token_signed_by_another_key_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    # Same key id as the provider's key, another private key.
    r = _sign_in(client, fake, key=rsa_key("key-1"))
    _assert_refused(r, org, "signature does not verify")


def test_an_unsigned_token_alg_none_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    token = unsigned({"alg": "none", "typ": "JWT"}, fake.default_claims(started.nonce))
    _assert_refused(_callback(client, fake, started, id_token=token), org, "'none'")


def test_a_token_signed_with_the_client_secret_hs256_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    secret = OctKey.import_key(CLIENT_SECRET.encode())
    _assert_refused(_sign_in(client, fake, key=secret, header={"kid": None}), org, "'HS256'")


def test_a_token_whose_signature_was_cut_off_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    genuine = fake.id_token(Grant(nonce=started.nonce))
    cut = genuine.rsplit(".", 1)[0] + "."
    _assert_refused(_callback(client, fake, started, id_token=cut), org, "signature")


# The id_token: claims


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "https://evil.example"}, "issued by 'https://evil.example'"),
        ({"aud": "another-client"}, "not this client"),
        ({"aud": ["another-client", "a-third"]}, "not this client"),
        ({"aud": [CLIENT_ID, "another-client"]}, "(azp), not to this client"),
        ({"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}, "(azp)"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "expired"),
        ({"iat": int(time.time()) + 3600}, "issued in the future"),
        ({"nonce": "not-the-nonce"}, "nonce is not the one"),
        ({"nonce": None}, "no nonce claim"),
        ({"sub": None}, "no sub claim"),
        ({"exp": None}, "no exp claim"),
    ],
    ids=[
        "wrong-iss",
        "wrong-aud",
        "aud-others-only",
        "several-aud-no-azp",
        "azp-another-client",
        "expired",
        "future-iat",
        "wrong-nonce",
        "missing-nonce",
        "missing-sub",
        "missing-exp",
    ],
)
def test_an_id_token_with_a_bad_claim_is_refused(
    client: Client,
    org: Org,
    fake: FakeProvider,
    idp: IdentityProvider,
    alice: EndUser,
    claims: dict[str, Any],
    why: str,
) -> None:
    _assert_refused(_sign_in(client, fake, claims=claims), org, why)
    alice.refresh_from_db()
    assert alice.idp_subject is None and alice.last_signin_at is None


def test_several_audiences_naming_us_as_azp_are_accepted_and_skew_is_tolerated(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    claims = {"aud": [CLIENT_ID, "another"], "azp": CLIENT_ID, "iat": int(time.time()) + 30}
    _assert_signed_in(_sign_in(client, fake, claims=claims), alice)


# The keys


def test_a_rotated_key_is_fetched_again_once(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    _assert_signed_in(_sign_in(client, fake), alice)
    assert fake.fetches["jwks"] == 1
    fake.keys = [rsa_key("key-2")]
    r = _callback(client, fake, _start(client, fake), code="code-2")
    assert r.status_code == 302 and fake.fetches["jwks"] == 2
    # The new set is cached in turn: the next sign-in fetches nothing.
    r = _callback(client, fake, _start(client, fake), code="code-3")
    assert r.status_code == 302 and fake.fetches["jwks"] == 2


def test_an_unknown_key_id_is_refused_after_one_more_fetch(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    _assert_signed_in(_sign_in(client, fake), alice)
    EndUserSession.objects.all().delete()
    r = _callback(client, fake, _start(client, fake), code="code-2", key=rsa_key("stranger"))
    _assert_refused(r, org, "no RS256 key with the id 'stranger'")
    assert fake.fetches["jwks"] == 2


# The state


def test_a_state_from_another_browser_is_refused_and_does_not_spend_the_real_one(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    fake.grants["code-x"] = Grant(nonce=started.nonce)
    other = Client()
    r = other.get(CALLBACK, {"code": "code-x", "state": started.state})
    _assert_refused(r, org, "not one this browser started")
    assert fake.token_requests == []
    _assert_signed_in(_callback(client, fake, started), alice)


def test_an_unknown_state_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    r = client.get(CALLBACK, {"code": "code-1", "state": "made-up"})
    _assert_refused(r, org, "not one this browser started")
    # Even with the browser's cookie naming it, a state the server never issued is refused.
    client.cookies[STATE_COOKIE] = hashlib.sha256(b"made-up").hexdigest()
    r = client.get(CALLBACK, {"code": "code-1", "state": "made-up"})
    _assert_refused(r, org, "unknown, used or expired")
    r = client.get(CALLBACK, {"code": "code-1"})
    _assert_refused(r, org, "not one this browser started")
    assert fake.token_requests == []


def test_a_replayed_state_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    cookie = client.cookies[STATE_COOKIE].value
    _assert_signed_in(_callback(client, fake, started), alice)
    EndUserSession.objects.all().delete()
    r = _callback(client, fake, started, code="code-2")
    _assert_refused(r, org, "not one this browser started")
    # A copy of the cookie from before does not help: the server used the state up.
    client.cookies[STATE_COOKIE] = cookie
    r = _callback(client, fake, started, code="code-3")
    _assert_refused(r, org, "unknown, used or expired")
    assert len(fake.token_requests) == 1


def test_an_expired_state_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    with time_machine.travel(time.time() + 11 * 60):
        r = _callback(client, fake, started)
    _assert_refused(r, org, "unknown, used or expired")


def test_a_state_issued_for_another_org_is_refused(
    client: Client, org: Org, other_org: Org, fake: FakeProvider, idp: IdentityProvider
) -> None:
    _configure(other_org, fake)
    started = _start(client, fake)
    client.cookies[STATE_COOKIE] = hashlib.sha256(started.state.encode()).hexdigest()
    fake.grants["code-1"] = Grant(nonce=started.nonce)
    r = client.get("/sso/globex/oidc/callback/", {"code": "code-1", "state": started.state})
    _assert_refused(r, other_org, "unknown, used or expired")
    assert _signin_events(org) == []
    assert SigninNonce.objects.filter(org=org, key=started.state).exists()


def test_several_sign_ins_in_flight_in_one_browser_each_complete(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    first, second = _start(client, fake), _start(client, fake)
    _assert_signed_in(_callback(client, fake, second, code="code-2"), alice)
    EndUserSession.objects.all().delete()
    _assert_signed_in(_callback(client, fake, first, code="code-1"), alice)


# What the provider answers


def test_an_error_from_the_provider_is_refused_with_its_description(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    answer = {"error": "access_denied", "error_description": "The user cancelled"}
    r = client.get(CALLBACK, {**answer, "state": started.state})
    _assert_refused(r, org, "access_denied: The user cancelled")
    assert not SigninNonce.objects.filter(key=started.state).exists()
    assert fake.token_requests == []


def test_a_code_the_token_endpoint_refuses_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    r = _sign_in(client, fake, error="invalid_grant")
    _assert_refused(r, org, "token endpoint refused the code: invalid_grant")


def test_an_answer_naming_another_issuer_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, alice: EndUser
) -> None:
    started = _start(client, fake)
    r = client.get(
        CALLBACK, {"code": "code-1", "state": started.state, "iss": "https://evil.example"}
    )
    _assert_refused(r, org, "another issuer")


def test_a_discovery_document_for_another_issuer_is_refused(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider
) -> None:
    fake.discovery_overrides["issuer"] = "https://evil.example"
    r = client.get("/sso/acme/")
    _assert_refused(r, org, "names the issuer 'https://evil.example'")
    assert STATE_COOKIE not in r.cookies
    assert not SigninNonce.objects.exists()


def test_an_issuer_that_cannot_be_reached_is_refused(
    client: Client, org: Org, fake: FakeProvider, settings: Any
) -> None:
    # Outbound policy: plain http and loopback need the operator setting.
    settings.OUTBOUND_ALLOW_PRIVATE = False
    _configure(org, fake)
    _assert_refused(client.get("/sso/acme/"), org, "could not be read: Only https")


def test_the_callback_is_refused_where_oidc_sign_in_is_not_set_up(
    client: Client, org: Org, fake: FakeProvider
) -> None:
    idp_configure(org=org, provider="okta", protocol="saml", actor=OPERATOR)
    r = client.get(CALLBACK, {"code": "code-1", "state": "x"})
    _assert_refused(r, org, "", reason="SSO_NOT_CONFIGURED")


def test_the_callback_of_an_unknown_org_is_a_404(client: Client, db: None) -> None:
    assert client.get("/sso/nobody/oidc/callback/", {"code": "c", "state": "s"}).status_code == 404


def test_sign_in_attempts_are_throttled_per_address(
    client: Client, org: Org, fake: FakeProvider, idp: IdentityProvider, settings: Any
) -> None:
    settings.SIGNIN_ATTEMPTS_PER_MINUTE = 2
    with time_machine.travel(time.time(), tick=False):
        assert client.get("/sso/acme/").status_code == 302
        assert client.get("/sso/acme/").status_code == 302
        r = client.get("/sso/acme/")
        assert r.status_code == 429 and int(r["Retry-After"]) <= 60
        assert client.get("/sso/acme/", REMOTE_ADDR="192.0.2.7").status_code == 302
        for _ in range(2):
            assert client.get(CALLBACK, {"state": "x"}).status_code == 403
        assert client.get(CALLBACK, {"state": "x"}).status_code == 429
    assert SigninNonce.objects.count() == 3
