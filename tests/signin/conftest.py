from __future__ import annotations

import pytest

from directory.models import IdentityProvider, Org
from directory.services.idp import idp_configure
from tests.actors import OPERATOR


def make_ready(org: Org, *, protocol: str = "saml", jit: bool = False) -> IdentityProvider:
    """An IdP end users can sign in with (as the protocol tests' fixtures configure it)."""
    provider = "okta" if protocol == "saml" else "entra"
    idp = idp_configure(org=org, provider=provider, protocol=protocol, actor=OPERATOR)
    if protocol == "saml":
        idp.entity_id = "urn:example:idp"
        idp.sso_url = "https://idp.example.com/sso"
        idp.certificates = [{"pem": "x", "sha256": "00", "not_after": "2030-01-01T00:00:00Z"}]
    else:
        idp.issuer = "https://idp.example.com"
        idp.client_id = "command-center"
    idp.jit = jit
    idp.save()
    return idp


@pytest.fixture
def ready_idp(org: Org) -> IdentityProvider:
    return make_ready(org)
