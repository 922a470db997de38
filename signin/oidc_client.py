"""What this server asks an OpenID provider, every request through directory.outbound:

    provider_config(issuer)      its discovery document, cached for ten minutes per issuer;
                                 its `issuer` must be the configured one exactly
    signing_keys(config, kid)    its JWKS, cached; fetched again once when a token names a
                                 key the cached set does not have (the provider rotated)
    code_exchange(...)           the authorization code for tokens, at the token endpoint,
                                 with the PKCE verifier and the client's authentication
    userinfo(...)                the claims of the userinfo endpoint, for the same subject

Each raises OidcError with a message that names what went wrong, for the refusal's event.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.cache import cache
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from directory.outbound import OutboundError, fetch

logger = logging.getLogger(__name__)

DISCOVERY_TTL = 600  # seconds
JWKS_TTL = 600
# Small documents: a discovery document or a JWKS is a few kilobytes.
MAX_DOCUMENT_BYTES = 256_000
# OIDC Discovery 1.0, section 4: the document's path under the issuer.
WELL_KNOWN = "/.well-known/openid-configuration"


class OidcError(Exception):
    """The provider's answer cannot be used; the message says why (shown in the event)."""


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    token_auth_methods: tuple[str, ...]


def _cache_key(kind: str, url: str) -> str:
    return f"oidc:{kind}:{hashlib.sha256(url.encode()).hexdigest()}"


def _json_object(url: str, what: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = fetch(url, accept="application/json", max_bytes=MAX_DOCUMENT_BYTES, **kwargs)
    except OutboundError as e:
        raise OidcError(f"The provider's {what} could not be read: {e}") from None
    return _parse_object(response.body, what)


def _parse_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise OidcError(f"The provider's {what} is not JSON") from None
    if not isinstance(document, dict):
        raise OidcError(f"The provider's {what} is not a JSON object")
    return document


def _endpoint(document: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = document.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or urlsplit(value).scheme not in _schemes():
        raise OidcError(f"The provider's discovery document has no usable {name}")
    return value


def _schemes() -> tuple[str, ...]:
    # The browser is sent to the authorization endpoint: never to a javascript: or data:
    # URL, and over plain http only where the operator allows private targets (tests).
    return ("https", "http") if settings.OUTBOUND_ALLOW_PRIVATE else ("https",)


def provider_config(issuer: str) -> ProviderConfig:
    """The provider's discovery document (cached per issuer). OidcError when it cannot
    be read or names another issuer: a document served for one issuer cannot speak for
    another (OIDC Discovery 1.0, section 4.3)."""
    key = _cache_key("discovery", issuer)
    document = cache.get(key)
    if document is None:
        document = _json_object(issuer.rstrip("/") + WELL_KNOWN, "discovery document")
        if document.get("issuer") != issuer:
            raise OidcError(
                f"The discovery document names the issuer {str(document.get('issuer'))[:200]!r}, "
                f"not the configured {issuer!r}"
            )
        config = _config(document)  # refuse a document without its endpoints before caching
        cache.set(key, document, DISCOVERY_TTL)
        return config
    return _config(document)


def _config(document: dict[str, Any]) -> ProviderConfig:
    methods = document.get("token_endpoint_auth_methods_supported")
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        # The default when the provider does not say (OIDC Discovery 1.0, section 3).
        methods = ["client_secret_basic"]
    return ProviderConfig(
        issuer=document["issuer"],
        authorization_endpoint=_endpoint(document, "authorization_endpoint"),
        token_endpoint=_endpoint(document, "token_endpoint"),
        jwks_uri=_endpoint(document, "jwks_uri"),
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
        token_auth_methods=tuple(methods),
    )


def _key_set(document: dict[str, Any]) -> KeySet:
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise OidcError("The provider's JWKS has no keys")
    # Only signing keys: a key published for encryption never verifies a signature.
    signing = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    try:
        return KeySet.import_key_set({"keys": signing})
    except (JoseError, ValueError, TypeError) as e:
        raise OidcError(f"The provider's JWKS could not be read: {e}") from None


def signing_keys(config: ProviderConfig, *, kid: str | None) -> KeySet:
    """The provider's keys, from the cache while they hold `kid` (or, when the token
    names no key, while there are any); otherwise fetched again, once."""
    key = _cache_key("jwks", config.jwks_uri)
    document = cache.get(key)
    if document is not None:
        keys = _key_set(document)
        if kid is None or any(k.kid == kid for k in keys.keys):
            return keys
        logger.info("OIDC key %r not in the cached JWKS of %s: fetched again", kid, config.issuer)
    document = _json_object(config.jwks_uri, "JWKS")
    keys = _key_set(document)
    cache.set(key, document, JWKS_TTL)
    return keys


def _basic(client_id: str, client_secret: str) -> str:
    # RFC 6749, section 2.3.1: both are form-urlencoded before they are joined.
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def code_exchange(
    config: ProviderConfig,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> dict[str, Any]:
    """The token endpoint's answer for `code` (with an `id_token`), the client
    authenticated the way the provider's discovery document allows."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    headers: dict[str, str] = {}
    methods = config.token_auth_methods
    if client_secret and "client_secret_basic" in methods:
        headers["Authorization"] = _basic(client_id, client_secret)
    elif client_secret and "client_secret_post" in methods:
        form.update(client_id=client_id, client_secret=client_secret)
    elif not client_secret and "none" in methods:
        form["client_id"] = client_id  # a public client: PKCE alone binds the code
    else:
        raise OidcError(
            "The token endpoint accepts none of the client authentications this server "
            f"can use (it offers {', '.join(methods) or 'none'}"
            f"{'' if client_secret else '; no client secret is configured'})"
        )
    try:
        response = fetch(
            config.token_endpoint,
            method="POST",
            data=form,
            headers=headers,
            accept="application/json",
            max_bytes=MAX_DOCUMENT_BYTES,
            statuses=(200, 400, 401),
        )
    except OutboundError as e:
        raise OidcError(f"The token endpoint could not be reached: {e}") from None
    answer = _parse_object(response.body, "token response")
    if response.status != 200 or "error" in answer:
        error = str(answer.get("error", f"HTTP {response.status}"))[:100]
        description = str(answer.get("error_description", ""))[:300]
        raise OidcError(
            f"The token endpoint refused the code: {error}"
            + (f" ({description})" if description else "")
        )
    if not isinstance(answer.get("id_token"), str):
        raise OidcError("The token endpoint's answer has no id_token")
    return answer


def userinfo(config: ProviderConfig, *, access_token: str, subject: str) -> dict[str, Any]:
    """The userinfo endpoint's claims, which must be about `subject` (OIDC Core 1.0,
    section 5.3.4: otherwise they are not to be used)."""
    claims = _json_object(
        config.userinfo_endpoint,
        "userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
    )
    if claims.get("sub") != subject:
        raise OidcError("The userinfo endpoint answered for another subject than the id_token's")
    return claims
