"""The id_token's verification (OIDC Core 1.0, section 3.1.3.7), by joserfc: the
signature with a key of the provider's JWKS, and the claims `iss`, `aud` (and `azp`),
`exp`, `iat` and `nonce`.

Only asymmetric signatures are accepted (RS256, ES256): `none` proves nothing, and HS256
would be keyed with the client secret, which this server stores and the provider's JWKS
does not publish, so a token "signed" with it would prove only that someone knew the
secret. The header is read before the signature is checked only to pick the key and to
say why an algorithm is refused; every claim used afterwards comes from the verified
token.
"""

from __future__ import annotations

import time
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key

from signin.oidc_client import OidcError, ProviderConfig, signing_keys

ALGORITHMS = ("RS256", "ES256")
_KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
# Clock skew allowed between the provider and this server, on `exp` and `iat`.
LEEWAY = 60  # seconds


def _header(id_token: str) -> dict[str, Any]:
    try:
        return dict(jws.extract_compact(id_token.encode()).headers())
    except (JoseError, ValueError, TypeError):
        raise OidcError("The id_token is not a signed JWT") from None


def _key(config: ProviderConfig, header: dict[str, Any]) -> Key:
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise OidcError(
            f"The id_token is signed with {str(alg)[:20]!r}; only {', '.join(ALGORITHMS)} "
            "signatures from the provider's keys are accepted"
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise OidcError("The id_token's key id is not a string")
    keys = signing_keys(config, kid=kid)
    candidates = [
        k
        for k in keys.keys
        if k.key_type == _KEY_TYPES[alg] and (kid is None or k.kid == kid) and k.alg in (None, alg)
    ]
    if kid is None and len(candidates) != 1:
        raise OidcError("The id_token names no key and the provider has several: refused")
    if not candidates:
        raise OidcError(f"The provider's JWKS has no {alg} key with the id {kid!r}")
    return candidates[0]


def id_token_claims(
    id_token: str, *, config: ProviderConfig, client_id: str, nonce: str
) -> dict[str, Any]:
    """The claims of `id_token` once its signature and claims are verified; OidcError
    saying what failed otherwise."""
    header = _header(id_token)
    key = _key(config, header)
    try:
        token = jwt.decode(id_token, key, algorithms=list(ALGORITHMS))
    except BadSignatureError:
        raise OidcError("The id_token's signature does not verify with the JWKS") from None
    except (JoseError, ValueError, TypeError) as e:
        raise OidcError(f"The id_token could not be read: {e}") from None
    claims: dict[str, Any] = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(time.time()),
        leeway=LEEWAY,
        iss={"essential": True, "value": config.issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise OidcError("The id_token has expired") from None
    except MissingClaimError as e:
        raise OidcError(f"The id_token has no {e.claim} claim") from None
    except InvalidClaimError as e:
        raise OidcError(_invalid(e.claim, claims)) from None
    except ClaimError as e:
        raise OidcError(f"The id_token's {e.claim} claim is refused: {e.description}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    # OIDC Core 1.0, section 3.1.3.7 (4, 5): a token for several audiences must say
    # which one it was issued to, and that must be us.
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise OidcError(f"The id_token was issued to {str(azp)[:100]!r} (azp), not to this client")
    return claims


def _invalid(claim: str, claims: dict[str, Any]) -> str:
    if claim == "iss":
        issuer = str(claims.get("iss"))[:200]
        return f"The id_token was issued by {issuer!r}, not the configured issuer"
    if claim == "aud":
        return f"The id_token is for {str(claims.get('aud'))[:200]!r}, not this client"
    if claim == "nonce":
        return "The id_token's nonce is not the one this sign-in sent"
    if claim == "iat":
        return "The id_token was issued in the future (iat)"
    return f"The id_token's {claim} claim is not valid"
