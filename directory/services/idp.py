"""The org's end-user identity provider (what SCIM's prerequisite checks)."""

from __future__ import annotations

from django.utils import timezone

from directory.audit import Actor, audit_record
from directory.errors import InvalidValue
from directory.models import IdentityProvider, Org


def idp_configure(
    *,
    org: Org,
    provider: str,
    protocol: str,
    sso_url: str = "",
    entity_id: str = "",
    issuer: str = "",
    client_id: str = "",
    actor: Actor,
) -> IdentityProvider:
    """Save the org's end-user IdP settings. Saving is what SCIM's prerequisite checks.

    A provider and a protocol alone are a saved IdP, whichever interface saves it; only
    the chosen protocol's settings are kept, so switching protocol starts clean."""
    if provider not in IdentityProvider.Provider.values:
        raise InvalidValue(f"Unknown provider {provider!r}", field="provider")
    if protocol not in IdentityProvider.Protocol.values:
        raise InvalidValue(f"Unknown protocol {protocol!r}", field="protocol")
    given = {
        "sso_url": sso_url,
        "entity_id": entity_id,
        "issuer": issuer,
        "client_id": client_id,
    }
    unused = (
        IdentityProvider.OIDC_SETTINGS
        if protocol == IdentityProvider.Protocol.SAML
        else IdentityProvider.SAML_SETTINGS
    )
    idp, _ = IdentityProvider.objects.update_or_create(
        org=org,
        defaults={
            "provider": provider,
            "protocol": protocol,
            **{name: "" if name in unused else value for name, value in given.items()},
            "saved_at": timezone.now(),
        },
    )
    audit_record(org=org, actor=actor, action="idp.configure", target=f"{provider}/{protocol}")
    return idp
