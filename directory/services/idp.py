"""The org's end-user identity provider: what SCIM's prerequisite checks, and what end
users sign in with.

A provider and a protocol alone are a saved IdP (SCIM can be enabled); sign-in needs
more (IdentityProvider.signin_ready): for SAML the IdP's metadata, uploaded or fetched
from its URL, read into entity ID, SSO URL and signing certificates
(directory.saml_metadata); for OIDC the issuer and the client. The values the admin
pastes into the IdP (our entity ID, ACS URL, ...) are `sp_values`, here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Field
from django.utils import timezone

from directory import outbound
from directory.audit import Actor, audit_record
from directory.errors import InvalidValue, PreconditionFailed
from directory.models import IdentityProvider, Org
from directory.saml_metadata import MAX_METADATA_BYTES, IdpMetadata, metadata_parse

METADATA_ACCEPT = "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8"


@dataclass(frozen=True)
class SpValues:
    """What the org's admin pastes into Okta or Entra: our side of the connection."""

    signin_url: str  # where an end user's sign-in starts (and Okta's "initiate login URI")
    entity_id: str  # SAML: our entity ID (Okta "Audience URI", Entra "Identifier")
    acs_url: str  # SAML: Okta "Single sign-on URL", Entra "Reply URL"
    metadata_url: str  # SAML: our metadata (the same URL as the entity ID)
    oidc_redirect_uri: str  # OIDC: the sign-in redirect URI


def sp_values(*, org: Org) -> SpValues:
    """Our SAML and OIDC values for `org`, under SITE_URL: the one place they are made
    (the CLI, the console, the API and signin.saml all read them here)."""
    base = f"{settings.SITE_URL.rstrip('/')}/sso/{org.slug}"
    return SpValues(
        signin_url=f"{base}/",
        entity_id=f"{base}/saml/metadata/",
        acs_url=f"{base}/saml/acs/",
        metadata_url=f"{base}/saml/metadata/",
        oidc_redirect_uri=f"{base}/oidc/callback/",
    )


def idp_describe(*, idp: IdentityProvider) -> dict[str, Any]:
    """The IdP as `idp show --json` prints it: our values and the IdP's, with null for
    what the protocol does not use (certificates without their PEM)."""
    sp = sp_values(org=idp.org)
    saml = idp.protocol == IdentityProvider.Protocol.SAML
    return {
        "protocol": idp.protocol,
        "provider": idp.provider,
        "signin_url": sp.signin_url,
        "entity_id": sp.entity_id if saml else None,
        "acs_url": sp.acs_url if saml else None,
        "metadata_url": sp.metadata_url if saml else None,
        "oidc_redirect_uri": None if saml else sp.oidc_redirect_uri,
        "idp_entity_id": (idp.entity_id or None) if saml else None,
        "idp_sso_url": (idp.sso_url or None) if saml else None,
        "certificates": [
            {"sha256": c["sha256"], "not_after": c["not_after"]} for c in idp.certificates
        ]
        if saml
        else None,
        "jit": idp.jit,
    }


def _default(name: str) -> Any:
    field = IdentityProvider._meta.get_field(name)
    assert isinstance(field, Field)
    return field.get_default()


def _metadata_read(
    *, metadata_xml: str | bytes | None, metadata_url: str | None
) -> tuple[IdpMetadata, str, str] | None:
    """(parsed, XML text, URL) of the metadata given, fetched if a URL; None if none was."""
    if metadata_xml is not None and metadata_url is not None:
        raise InvalidValue("Give the IdP's metadata as XML or as a URL, not both", field="metadata")
    url = ""
    if metadata_url is not None:
        url = metadata_url.strip()
        if len(url) > 1000:
            raise InvalidValue(
                "The metadata URL is longer than 1000 characters", field="metadata_url"
            )
        try:
            body: str | bytes = outbound.fetch(
                url, accept=METADATA_ACCEPT, max_bytes=MAX_METADATA_BYTES
            ).body
        except outbound.OutboundError as e:
            raise InvalidValue(
                f"The metadata could not be fetched from {url[:200]}: {e}", field="metadata_url"
            ) from None
    elif metadata_xml is not None:
        body = metadata_xml
    else:
        return None
    parsed = metadata_parse(body)
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidValue("The metadata must be UTF-8 encoded", field="metadata") from None
    return parsed, body, url


def _issuer_check(issuer: str) -> str:
    issuer = issuer.strip()
    if not issuer:
        return ""
    try:
        parts = urlsplit(issuer)
    except ValueError:
        raise InvalidValue("The issuer is not a URL", field="issuer") from None
    # https, as OpenID Connect Discovery requires; plain http only where the operator lets
    # the server reach private addresses (development and tests: directory.outbound).
    schemes = {"https", "http"} if settings.OUTBOUND_ALLOW_PRIVATE else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidValue("The issuer must be an https URL", field="issuer")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidValue(
            "The issuer must not have a query, a fragment or credentials", field="issuer"
        )
    if len(issuer) > 1000:
        raise InvalidValue("The issuer is longer than 1000 characters", field="issuer")
    return issuer


def _oidc_settings(
    *,
    values: dict[str, Any],
    issuer: str | None,
    client_id: str | None,
    client_secret: str | None,
    scopes: str | None,
    username_claim: str | None,
) -> None:
    if issuer is not None:
        values["issuer"] = _issuer_check(issuer)
    if client_id is not None:
        client_id = client_id.strip()
        if len(client_id) > 200:
            raise InvalidValue("The client ID is longer than 200 characters", field="client_id")
        values["client_id"] = client_id
    if client_secret is not None:
        if len(client_secret) > 2000:
            raise InvalidValue(
                "The client secret is longer than 2000 characters", field="client_secret"
            )
        values["client_secret"] = client_secret.strip()
    if scopes is not None:
        words = list(dict.fromkeys(scopes.split())) or str(_default("scopes")).split()
        if "openid" not in words:
            raise InvalidValue("The scopes must include openid", field="scopes")
        joined = " ".join(words)
        if len(joined) > 200:
            raise InvalidValue("The scopes are longer than 200 characters", field="scopes")
        values["scopes"] = joined
    if username_claim is not None:
        if username_claim not in IdentityProvider.UsernameClaim.values:
            claims = ", ".join(IdentityProvider.UsernameClaim.values)
            raise InvalidValue(
                f"The username claim must be one of {claims}", field="username_claim"
            )
        values["username_claim"] = username_claim


def idp_configure(
    *,
    org: Org,
    provider: str,
    protocol: str,
    metadata_xml: str | bytes | None = None,
    metadata_url: str | None = None,
    idp_initiated: bool | None = None,
    issuer: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    scopes: str | None = None,
    username_claim: str | None = None,
    actor: Actor,
) -> IdentityProvider:
    """Save the org's end-user IdP settings. Saving is what SCIM's prerequisite checks.

    A provider and a protocol alone are a saved IdP, whichever interface saves it. Each
    setting left None keeps its saved value (the client secret, never shown again, is
    kept so); switching protocol resets the other protocol's settings to their defaults.
    SAML metadata comes as XML or from a URL (fetched now, under directory.outbound's
    policy) and replaces entity ID, SSO URL and certificates together. Bad input raises
    InvalidValue naming the field, before anything is written. Audited with `actor`."""
    if provider not in IdentityProvider.Provider.values:
        raise InvalidValue(f"Unknown provider {provider!r}", field="provider")
    if protocol not in IdentityProvider.Protocol.values:
        raise InvalidValue(f"Unknown protocol {protocol!r}", field="protocol")
    saml = protocol == IdentityProvider.Protocol.SAML
    foreign = (
        {"issuer": issuer, "client_id": client_id, "client_secret": client_secret,
         "scopes": scopes, "username_claim": username_claim}
        if saml
        else {"metadata_xml": metadata_xml, "metadata_url": metadata_url,
              "idp_initiated": idp_initiated}
    )  # fmt: skip
    for name, value in foreign.items():
        if value is not None:
            label = "OpenID Connect" if saml else "SAML 2.0"
            raise InvalidValue(f"{name} is a setting of {label}, not of {protocol}", field=name)
    # The network and the parsing first: no row is locked while the IdP's server answers.
    metadata = (
        _metadata_read(metadata_xml=metadata_xml, metadata_url=metadata_url) if saml else None
    )
    with transaction.atomic():
        current = IdentityProvider.objects.select_for_update().filter(org=org).first()
        keep = current is not None and current.protocol == protocol
        own, other = (
            (IdentityProvider.SAML_SETTINGS, IdentityProvider.OIDC_SETTINGS)
            if saml
            else (IdentityProvider.OIDC_SETTINGS, IdentityProvider.SAML_SETTINGS)
        )
        values = {n: getattr(current, n) if keep else _default(n) for n in own}
        values.update({n: _default(n) for n in other})
        if metadata is not None:
            parsed, xml, url = metadata
            values.update(
                entity_id=parsed.entity_id,
                sso_url=parsed.sso_url,
                certificates=parsed.certificates,
                metadata_xml=xml,
                metadata_url=url,
            )
        if idp_initiated is not None:
            values["idp_initiated"] = idp_initiated
        if not saml:
            _oidc_settings(
                values=values,
                issuer=issuer,
                client_id=client_id,
                client_secret=client_secret,
                scopes=scopes,
                username_claim=username_claim,
            )
        idp, _ = IdentityProvider.objects.update_or_create(
            org=org,
            defaults={
                "provider": provider,
                "protocol": protocol,
                **values,
                "saved_at": timezone.now(),
            },
        )
        details: dict[str, Any] = (
            {
                "entity_id": idp.entity_id,
                "metadata_url": idp.metadata_url,
                "certificates": [c["sha256"] for c in idp.certificates],
                "metadata": "replaced" if metadata is not None else "kept",
            }
            if saml
            else {
                "issuer": idp.issuer,
                "client_id": idp.client_id,
                # Never the secret itself.
                "client_secret": (
                    ("replaced" if client_secret else "cleared")
                    if client_secret is not None
                    else ("kept" if idp.client_secret else "none")
                ),
            }
        )
        audit_record(
            org=org,
            actor=actor,
            action="idp.configure",
            target=f"{provider}/{protocol}",
            **details,
        )
    return idp


def idp_jit_set(*, org: Org, enabled: bool, actor: Actor) -> IdentityProvider:
    """Turn just-in-time creation of unknown users at sign-in on or off (default off).
    It applies only while the org has no live SCIM directory (the sign-in gate's rule).
    Raises PreconditionFailed when no IdP is saved. Audited with `actor`."""
    with transaction.atomic():
        idp = IdentityProvider.objects.select_for_update().filter(org=org).first()
        if idp is None or not idp.is_saved:
            raise PreconditionFailed(
                "Configure and save the org's end-user identity provider first"
            )
        if idp.jit != enabled:
            idp.jit = enabled
            idp.save(update_fields=["jit", "updated_at"])
        audit_record(org=org, actor=actor, action="idp.jit", target="on" if enabled else "off")
    return idp
