"""OpenID Connect sign-in: the authorization code flow with PKCE (S256), state and nonce.

    start(request, org, idp, next_path)   /sso/<slug>/ for an OIDC org: a random state,
                                          nonce and PKCE verifier, kept on the server
                                          (SigninNonce, once, ten minutes) and bound to
                                          this browser by a cookie; 302 to the provider
    callback(request, slug)               /sso/<slug>/oidc/callback/: the state must be
                                          this browser's and unused; the code is exchanged
                                          at the token endpoint; the id_token verified
                                          (signin.oidc_idtoken); its identity goes to the
                                          gate (signin.views.complete)

Every answer that cannot be verified is refused with INVALID_RESPONSE and a message
naming what failed (the `signin` event carries it); no session is opened then. The
provider's documents and keys come through directory.outbound (signin.oidc_client).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from directory import selectors
from directory.models import IdentityProvider, Org, SigninNonce, SigninRefusal
from directory.services.idp import sp_values
from directory.services.signin import Identity
from directory.services.signin_state import nonce_put, nonce_take
from signin import views
from signin.oidc_client import OidcError, code_exchange, provider_config, userinfo
from signin.oidc_idtoken import id_token_claims

PROTOCOL = "oidc"
STATE_TTL = timedelta(minutes=10)
# The browser's half of each sign-in it started: hashes of their states, newest first.
# SameSite=Lax: the provider's redirect back is a top-level GET, which carries it.
STATE_COOKIE = "cc_oidc_state"
STATE_COOKIE_MAX = 4  # sign-ins in flight at once in one browser (tabs)
_PROFILE_CLAIMS = ("email", "given_name", "family_name", "name")


def redirect_uri(org: Org) -> str:
    return sp_values(org=org).oidc_redirect_uri


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _bound_states(request: HttpRequest) -> list[str]:
    raw = request.COOKIES.get(STATE_COOKIE, "")
    return [h for h in raw.split(".") if len(h) == 64][:STATE_COOKIE_MAX]


def _set_states(response: HttpResponse, org: Org, hashes: list[str]) -> None:
    path = f"/sso/{org.slug}/oidc/"
    if not hashes:
        response.delete_cookie(STATE_COOKIE, path=path, samesite="Lax")
        return
    response.set_cookie(
        STATE_COOKIE,
        ".".join(hashes[:STATE_COOKIE_MAX]),
        max_age=int(STATE_TTL.total_seconds()),
        path=path,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _scope(idp: IdentityProvider) -> str:
    scopes = (idp.scopes or "openid email profile").split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return " ".join(dict.fromkeys(scopes))


def start(request: HttpRequest, *, org: Org, idp: IdentityProvider, next_path: str) -> HttpResponse:
    """Send the browser to the provider's authorization endpoint (views.start has
    checked that sign-in is set up)."""
    limited = views.throttled(request, "oidc-start")
    if limited is not None:
        return limited
    try:
        config = provider_config(idp.issuer)
    except OidcError as e:
        return _refuse(request, org, str(e))
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 asks for 43 to 128
    nonce_put(
        org=org,
        kind=SigninNonce.Kind.OIDC_STATE,
        key=state,
        ttl=STATE_TTL,
        data={"nonce": nonce, "verifier": verifier, "next": next_path},
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": idp.client_id,
            "redirect_uri": redirect_uri(org),
            "scope": _scope(idp),
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    endpoint = config.authorization_endpoint
    response = HttpResponseRedirect(f"{endpoint}{'&' if '?' in endpoint else '?'}{query}")
    _set_states(response, org, [_state_hash(state), *_bound_states(request)])
    return response


def _refuse(
    request: HttpRequest, org: Org, message: str, *, used: str = "", reason: str = ""
) -> HttpResponse:
    response = views.refuse(
        request,
        org=org,
        reason=reason or SigninRefusal.INVALID_RESPONSE,
        protocol=PROTOCOL,
        message=message[:500],
    )
    if used:
        _set_states(response, org, [h for h in _bound_states(request) if h != used])
    return response


@never_cache
@require_GET
def callback(request: HttpRequest, slug: str) -> HttpResponse:
    org = views.org_named(slug)
    if org is None:
        return views.unknown_org(request)
    limited = views.throttled(request, "oidc-callback")
    if limited is not None:
        return limited
    idp = selectors.idp_get(org=org)
    if idp is None or not idp.signin_ready or idp.protocol != IdentityProvider.Protocol.OIDC:
        return _refuse(request, org, "", reason=SigninRefusal.SSO_NOT_CONFIGURED)
    state = request.GET.get("state", "")
    # The browser's binding is checked before the state is used up: someone else who
    # learnt the state cannot spend the real user's sign-in.
    used = _state_hash(state) if state else ""
    if not used or used not in _bound_states(request):
        if "error" in request.GET:
            return _refuse(request, org, _provider_error(request))
        return _refuse(
            request,
            org,
            "The sign-in's state is not one this browser started (another browser, or "
            "its cookie expired)",
        )
    saved = nonce_take(org=org, kind=SigninNonce.Kind.OIDC_STATE, key=state)
    if saved is None:
        return _refuse(request, org, "The sign-in's state is unknown, used or expired", used=used)
    if "error" in request.GET:
        return _refuse(request, org, _provider_error(request), used=used)
    # RFC 9207: a provider that names itself in the answer must be the one we asked.
    if "iss" in request.GET and request.GET["iss"] != idp.issuer:
        return _refuse(request, org, "The answer comes from another issuer (iss)", used=used)
    code = request.GET.get("code", "")
    if not code:
        return _refuse(request, org, "The provider's answer has no code", used=used)
    try:
        identity = _identity(idp, code=code, saved=saved, org=org)
    except OidcError as e:
        return _refuse(request, org, str(e), used=used)
    response = views.complete(
        request, org=org, identity=identity, protocol=PROTOCOL, relay_state=saved.get("next", "")
    )
    _set_states(response, org, [h for h in _bound_states(request) if h != used])
    return response


def _provider_error(request: HttpRequest) -> str:
    error = request.GET.get("error", "")[:100]
    description = request.GET.get("error_description", "")[:300]
    return f"The provider answered {error}" + (f": {description}" if description else "")


def _identity(idp: IdentityProvider, *, code: str, saved: dict[str, Any], org: Org) -> Identity:
    """Who signed in, from the verified id_token (and the userinfo endpoint for the
    claims the id_token leaves out)."""
    config = provider_config(idp.issuer)
    tokens = code_exchange(
        config,
        client_id=idp.client_id,
        client_secret=idp.client_secret,
        code=code,
        redirect_uri=redirect_uri(org),
        code_verifier=str(saved["verifier"]),
    )
    claims = id_token_claims(
        tokens["id_token"], config=config, client_id=idp.client_id, nonce=str(saved["nonce"])
    )
    subject = claims["sub"]
    name_claim = idp.username_claim or IdentityProvider.UsernameClaim.EMAIL
    missing = [c for c in (name_claim, *_PROFILE_CLAIMS) if not isinstance(claims.get(c), str)]
    access_token = tokens.get("access_token")
    if missing and config.userinfo_endpoint and isinstance(access_token, str):
        # Providers may keep the profile claims out of the id_token when an access token
        # is issued (OIDC Core 1.0, section 5.4); the id_token's own claims come first.
        extra = userinfo(config, access_token=access_token, subject=subject)
        claims = {**extra, **claims}
    user_name = claims.get(name_claim)
    if not isinstance(user_name, str) or not user_name.strip():
        raise OidcError(
            f"The provider sent no {name_claim!r} claim, which this org matches to userName"
        )
    if name_claim == IdentityProvider.UsernameClaim.EMAIL and claims.get("email_verified") is False:
        # An address the provider itself has not verified must not claim an account.
        raise OidcError("The provider says the email address is not verified (email_verified)")

    def text(name: str) -> str:
        value = claims.get(name)
        return value.strip() if isinstance(value, str) else ""

    return Identity(
        subject=subject,
        user_name=user_name.strip(),
        email=text("email"),
        given_name=text("given_name"),
        family_name=text("family_name"),
        display_name=text("name"),
    )
