"""OpenID providers for the OIDC sign-in tests, both on 127.0.0.1:

- FakeProvider: a tiny provider on http.server whose discovery document, keys and token
  answers each test shapes, and that records what it was sent. The tests sign its
  id_tokens themselves (joserfc, generated keys), so every refusal case is a token the
  test crafted.
- node_provider: the real node-oidc-provider (tests/idps/oidc.mjs), for the browser.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, Key, OctKey, RSAKey

from tests.conftest import free_port

CLIENT_ID = "command-center"
CLIENT_SECRET = "s3cret/with+odd=chars"
IDPS = Path(__file__).resolve().parents[1] / "idps"


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def ec_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A JWT with `alg: none`: header and claims, and an empty signature."""
    parts = [json.dumps(header).encode(), json.dumps(claims).encode()]
    return ".".join(_b64(p) for p in parts) + "."


@dataclass
class Grant:
    """What the fake's token endpoint answers for one code."""

    nonce: str
    claims: dict[str, Any] = field(default_factory=dict)  # over the defaults; None drops one
    header: dict[str, Any] = field(default_factory=dict)
    key: Key | None = None  # the signing key; default: the provider's current one
    alg: str = ""
    id_token: str = ""  # sent as it is, when set
    error: str = ""  # a token endpoint error instead of tokens


class FakeProvider:
    def __init__(self) -> None:
        self.keys: list[Key] = [rsa_key("key-1")]
        self.grants: dict[str, Grant] = {}
        self.token_requests: list[dict[str, Any]] = []
        self.userinfo_claims: dict[str, Any] | None = None
        self.discovery_overrides: dict[str, Any] = {}
        self.fetches: dict[str, int] = {"discovery": 0, "jwks": 0, "userinfo": 0}
        self.subject = "00u-alice"
        self.email = "alice@acme.example"
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        self.keys = [rsa_key("key-1")]
        self.grants.clear()
        self.token_requests.clear()
        self.userinfo_claims = None
        self.discovery_overrides = {}
        self.fetches = {"discovery": 0, "jwks": 0, "userinfo": 0}

    def discovery(self) -> dict[str, Any]:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }
        document.update(self.discovery_overrides)
        return {k: v for k, v in document.items() if v is not None}

    def default_claims(self, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": self.subject,
            "email": self.email,
            "email_verified": True,
            "given_name": "Alice",
            "family_name": "Liddell",
            "name": "Alice Liddell",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
        }

    def id_token(self, grant: Grant) -> str:
        if grant.id_token:
            return grant.id_token
        claims = self.default_claims(grant.nonce)
        claims.update(grant.claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = grant.key or self.keys[0]
        alg = grant.alg or ("ES256" if isinstance(key, ECKey) else "RS256")
        if isinstance(key, OctKey):
            alg = grant.alg or "HS256"
        header = {"alg": alg, "kid": key.kid, **grant.header}
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(header, claims, key, algorithms=[alg])

    def token_answer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None:
            return 400, {"error": "invalid_grant", "error_description": "unknown code"}
        if grant.error:
            return 400, {"error": grant.error, "error_description": "refused by the test"}
        return 200, {
            "access_token": "at-" + form["code"],
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(grant),
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(private=False) for k in self.keys]}


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path
            if path == "/.well-known/openid-configuration":
                provider.fetches["discovery"] += 1
                self._json(200, provider.discovery())
            elif path == "/jwks":
                provider.fetches["jwks"] += 1
                self._json(200, provider.jwks())
            elif path == "/userinfo":
                provider.fetches["userinfo"] += 1
                if self.headers.get("Authorization", "").startswith("Bearer at-"):
                    self._json(200, provider.userinfo_claims or {"sub": provider.subject})
                else:
                    self._json(401, {"error": "invalid_token"})
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            provider.token_requests.append(
                {"form": form, "authorization": self.headers.get("Authorization", "")}
            )
            status, answer = provider.token_answer(form)
            self._json(status, answer)

    return Handler


@contextmanager
def node_provider(clients: list[dict[str, Any]]) -> Iterator[str]:
    """node-oidc-provider (tests/idps/oidc.mjs) on a free port of 127.0.0.1, for the
    `clients` given; yields its issuer and stops it afterwards."""
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        ["node", str(IDPS / "oidc.mjs"), str(port), json.dumps(clients)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"oidc-provider exited: {log.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(
                    f"{issuer}/.well-known/openid-configuration", timeout=1
                ) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
