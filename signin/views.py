"""End-user sign-in pages: /sso/<slug>/ (signin.sso) starts a sign-in with the org's
IdP, the protocol modules (signin.saml, signin.oidc) verify the IdP's answer and hand
the identity to `complete`, and /me/ shows the signed-in user their account.

Every decision is directory.services.signin's; this module parses, calls and renders:
a 302 to /me/ (or to a safe relative RelayState) with the end-user session cookie, or
a 403 page naming the reason code. End-user sessions are not console sessions: their
cookie is END_USER_SESSION_COOKIE, and nothing here reads or writes the Django session.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from directory import selectors
from directory.cache import counters_hit
from directory.errors import NotFound
from directory.models import Org, SigninRefusal
from directory.services.sessions import (
    Decision,
    refusal_message,
    session_end,
    session_start,
    session_user,
)
from directory.services.signin import Identity, signin, signin_refuse

logger = logging.getLogger(__name__)


def client_of(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def safe_next(relay_state: str | None) -> str:
    """A RelayState (or OIDC return path) only ever leads to a path of this site."""
    target = (relay_state or "").strip()
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or not url_has_allowed_host_and_scheme(target, allowed_hosts=set())
    ):
        return "/me/"
    return target


def org_named(slug: str) -> Org | None:
    """The org of a sign-in URL, or None (the caller answers unknown_org)."""
    try:
        return selectors.org_get(slug=slug)
    except NotFound:
        return None


def unknown_org(request: HttpRequest) -> HttpResponse:
    return render(request, "signin/unknown_org.html", status=404)


def throttled(request: HttpRequest, what: str) -> HttpResponse | None:
    """A 429 page once this client address made more than SIGNIN_ATTEMPTS_PER_MINUTE
    `what` requests (saml-start, saml-acs, oidc-start, oidc-callback) this minute. If the
    cache is unreachable the request goes through: signing in matters more than
    throttling. No event is written: a flood of attempts must not become a flood of
    events."""
    now = int(time.time())
    key = f"signin:{what}:{client_of(request)}:{now // 60}"
    try:
        (count,) = counters_hit([key], ttl=60)
    except Exception:
        logger.warning("Sign-in throttle unavailable (cache unreachable)", exc_info=True)
        return None
    if count <= settings.SIGNIN_ATTEMPTS_PER_MINUTE:
        return None
    response = render(request, "signin/throttled.html", status=429)
    response["Retry-After"] = str(60 - now % 60)
    return response


def refusal_page(request: HttpRequest, *, org: Org | None, decision: Decision) -> HttpResponse:
    response = render(
        request,
        "signin/refused.html",
        {
            "org": org,
            "reason": decision.reason,
            "reason_label": SigninRefusal(decision.reason).label,
            "advice": refusal_message(decision.reason),
        },
        status=403,
    )
    response.delete_cookie(settings.END_USER_SESSION_COOKIE)
    return response


def complete(
    request: HttpRequest, *, org: Org, identity: Identity, protocol: str, relay_state: str = ""
) -> HttpResponse:
    """A verified identity: ask the gate, then open a session or show the refusal."""
    decision = signin(org=org, identity=identity, protocol=protocol, client=client_of(request))
    if not decision.allowed or decision.user is None:
        return refusal_page(request, org=org, decision=decision)
    token = session_start(user=decision.user, protocol=protocol)
    response = HttpResponseRedirect(safe_next(relay_state))
    response.set_cookie(
        settings.END_USER_SESSION_COOKIE,
        token,
        max_age=settings.END_USER_SESSION_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def refuse(
    request: HttpRequest, *, org: Org, reason: str, protocol: str, message: str = ""
) -> HttpResponse:
    """An answer from the IdP that could not be verified, or sign-in not set up."""
    decision = signin_refuse(
        org=org, reason=reason, protocol=protocol, message=message, client=client_of(request)
    )
    return refusal_page(request, org=org, decision=decision)


@never_cache
@require_GET
def me(request: HttpRequest) -> HttpResponse:
    decision = session_user(request.COOKIES.get(settings.END_USER_SESSION_COOKIE, ""))
    if decision is None:
        response = render(request, "signin/signed_out.html", {"expired": True}, status=401)
        response.delete_cookie(settings.END_USER_SESSION_COOKIE)
        return response
    user = decision.user
    assert user is not None
    if not decision.allowed:
        return refusal_page(request, org=user.org, decision=decision)
    return render(
        request,
        "signin/me.html",
        {
            "person": user,
            "org": user.org,
            "groups": selectors.user_group_names(user=user),
        },
    )


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    session_end(request.COOKIES.get(settings.END_USER_SESSION_COOKIE, ""))
    response = render(request, "signin/signed_out.html", {"expired": False})
    response.delete_cookie(settings.END_USER_SESSION_COOKIE)
    return response
