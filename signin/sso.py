"""/sso/<slug>/: an end user's sign-in starts here and goes to the org's protocol.

Apart from signin.views, which the protocol modules import for what every sign-in ends
with (the gate, the session, the refusal page): the dispatch imports the protocols, so
living in signin.views it would make each of them import itself back.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from directory import selectors
from directory.models import SigninRefusal
from signin import oidc, saml
from signin.views import org_named, refuse, safe_next, unknown_org


@never_cache
@require_GET
def start(request: HttpRequest, slug: str) -> HttpResponse:
    """Send the user to the org's IdP (SAML AuthnRequest or OIDC authorization)."""
    org = org_named(slug)
    if org is None:
        return unknown_org(request)
    idp = selectors.idp_get(org=org)
    if idp is None or not idp.signin_ready:
        protocol = idp.protocol if idp is not None else ""
        return refuse(request, org=org, reason=SigninRefusal.SSO_NOT_CONFIGURED, protocol=protocol)
    next_path = safe_next(request.GET.get("next"))
    if idp.protocol == idp.Protocol.SAML:
        return saml.start(request, org=org, idp=idp, relay_state=next_path)
    return oidc.start(request, org=org, idp=idp, next_path=next_path)
