"""SAML 2.0 sign-in for an org's end users (python3-saml; signin.saml_toolkit configures it):

    start       (from /sso/<slug>/) an AuthnRequest, HTTP-Redirect binding; its ID is kept
                on the server for five minutes, so the ACS needs no cookie (the IdP's POST
                is cross-site in production and carries none)
    metadata    GET /sso/<slug>/saml/metadata/: our SP metadata (also our entity ID)
    acs         POST /sso/<slug>/saml/acs/: the IdP's response, verified by python3-saml;
                it must answer an AuthnRequest of ours that is still open (IdP-initiated
                responses only where the org allows them), and each assertion is accepted
                once. Then the gate decides (signin.views.complete).

Every answer that cannot be verified is refused with INVALID_RESPONSE and recorded;
sign-in starts and ACS posts are throttled per client address.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import lxml.etree
import xmlsec
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError

from directory import selectors
from directory.models import IdentityProvider, Org, SigninNonce, SigninRefusal
from directory.services.signin_state import assertion_first_use, nonce_put, nonce_take
from signin import views
from signin.saml_toolkit import (
    SamlAuth,
    UnusableIdentity,
    identity_of,
    saml_auth,
    sp_metadata,
    sp_urls,
)

PROTOCOL = IdentityProvider.Protocol.SAML
AUTHN_REQUEST_TTL = timedelta(minutes=5)
METADATA_CONTENT_TYPE = "application/samlmetadata+xml"

# What reading an IdP's answer can raise: bad base64 or encoding (ValueError), XML that
# does not parse or carries a DTD or entities (python3-saml's parser refuses them with
# ValueError subclasses), xmlsec failures, and python3-saml's own errors.
_UNREADABLE = (
    OneLogin_Saml2_Error,
    OneLogin_Saml2_ValidationError,
    ValueError,
    SyntaxError,
    lxml.etree.LxmlError,
    xmlsec.Error,
)


def start(
    request: HttpRequest, *, org: Org, idp: IdentityProvider, relay_state: str
) -> HttpResponse:
    """Send the browser to the IdP with an AuthnRequest (called by signin.sso.start
    once the IdP is ready)."""
    if (throttled := views.throttled(request, "saml-start")) is not None:
        return throttled
    auth = saml_auth(request, org=org, idp=idp, url=sp_urls(org).acs_url)
    url = auth.login(return_to=relay_state)
    nonce_put(
        org=org,
        kind=SigninNonce.Kind.AUTHN_REQUEST,
        key=auth.get_last_request_id(),
        ttl=AUTHN_REQUEST_TTL,
    )
    return HttpResponseRedirect(url)


@never_cache
@require_GET
def metadata(request: HttpRequest, slug: str) -> HttpResponse:
    org = views.org_named(slug)
    if org is None:
        return views.unknown_org(request)
    idp = selectors.idp_get(org=org)
    if idp is None or not idp.is_saved or idp.protocol != PROTOCOL:
        raise Http404("This organization has no SAML identity provider")
    return HttpResponse(sp_metadata(org, idp), content_type=METADATA_CONTENT_TYPE)


def _short(reason: Any) -> str:
    text = " ".join(str(reason or "The response could not be verified").split())
    return text if len(text) <= 200 else text[:199] + "…"


def _verified(request: HttpRequest, *, org: Org, idp: IdentityProvider) -> SamlAuth | str:
    """python3-saml's verified result for the posted response, or why it is refused."""
    if not request.POST.get("SAMLResponse"):
        return "No SAMLResponse was posted"
    auth = saml_auth(request, org=org, idp=idp, url=sp_urls(org).acs_url)
    try:
        # No request_id: which AuthnRequest it answers is checked below, against the
        # ones kept on the server.
        auth.process_response(request_id=None)
    except _UNREADABLE as e:
        return _short(e)
    if auth.get_errors() or not auth.is_authenticated():
        return _short(auth.get_last_error_reason())
    in_response_to = auth.get_last_response_in_response_to()
    if in_response_to:
        taken = nonce_take(org=org, kind=SigninNonce.Kind.AUTHN_REQUEST, key=in_response_to)
        if taken is None:
            return "The response answers no open sign-in request (unknown, used or expired)"
    elif not idp.idp_initiated:
        return "Unsolicited response: sign-in started at the IdP is not allowed for this org"
    not_on_or_after = auth.get_last_assertion_not_on_or_after()
    assertion_id = auth.get_last_assertion_id()
    if not not_on_or_after or not assertion_id:
        return "The assertion has no ID or no NotOnOrAfter"
    until = datetime.fromtimestamp(not_on_or_after, tz=UTC)
    if not assertion_first_use(org=org, assertion_id=assertion_id, until=until):
        return "The assertion was used before (a replay)"
    return auth


@csrf_exempt  # the IdP posts here, cross-site; the response's signature is the proof
@never_cache
@require_POST
def acs(request: HttpRequest, slug: str) -> HttpResponse:
    if (throttled := views.throttled(request, "saml-acs")) is not None:
        return throttled
    org = views.org_named(slug)
    if org is None:
        return views.unknown_org(request)
    idp = selectors.idp_get(org=org)
    if idp is None or idp.protocol != PROTOCOL or not idp.signin_ready:
        return views.refuse(
            request, org=org, reason=SigninRefusal.SSO_NOT_CONFIGURED, protocol=PROTOCOL
        )
    verified = _verified(request, org=org, idp=idp)
    if isinstance(verified, str):
        return views.refuse(
            request,
            org=org,
            reason=SigninRefusal.INVALID_RESPONSE,
            protocol=PROTOCOL,
            message=verified,
        )
    try:
        identity = identity_of(verified)
    except UnusableIdentity as e:
        return views.refuse(
            request,
            org=org,
            reason=SigninRefusal.INVALID_RESPONSE,
            protocol=PROTOCOL,
            message=str(e),
        )
    return views.complete(
        request,
        org=org,
        identity=identity,
        protocol=PROTOCOL,
        relay_state=request.POST.get("RelayState", ""),
    )
