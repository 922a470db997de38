"""Real IdPs for the end-to-end sign-in tests, started on 127.0.0.1 on free ports and
stopped by the fixture that started them: npm's saml-idp (tests/idps, installed with
`npm ci`), which mints assertions signed with a key the test generates for the user
typed in its form."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from directory.models import IdentityProvider
from directory.services.idp import idp_configure
from tests.actors import OPERATOR
from tests.conftest import free_port
from tests.signin.saml_forge import keys

IDPS = Path(__file__).resolve().parents[1] / "idps"
SAML_IDP = IDPS / "node_modules" / "saml-idp" / "bin" / "run.js"


@dataclass(frozen=True)
class SamlIdp:
    url: str
    issuer: str

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/metadata"


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"saml-idp exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"saml-idp did not answer at {url}: {log.read_text()[-2000:]}")


@contextmanager
def saml_idp(*, workdir: Path, sp_entity_id: str, acs_url: str) -> Iterator[SamlIdp]:
    """Run saml-idp for one SP until the block ends. It answers each AuthnRequest at
    the ACS URL the request names (ours), for the audience given here."""
    node = shutil.which("node")
    if node is None or not SAML_IDP.exists():
        raise RuntimeError(
            "node and tests/idps/node_modules are needed: npm ci --prefix tests/idps"
        )
    signing = keys("saml-idp")
    (workdir / "idp-key.pem").write_text(signing.key_pem)
    (workdir / "idp-cert.pem").write_text(signing.cert_pem)
    # The form's defaults; each test types the user it signs in as.
    profile = {
        "userName": "someone@acme.example",
        "nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "firstName": "",
        "lastName": "",
        "displayName": "",
        "email": "",
    }
    attributes = [
        {"id": name, "optional": True, "displayName": name, "description": "", "multiValue": False}
        for name in ("firstName", "lastName", "displayName", "email")
    ]
    config = workdir / "saml-idp-config.js"
    config.write_text(
        f"module.exports = {{user: {json.dumps(profile)}, metadata: {json.dumps(attributes)}}};\n"
    )
    port = free_port()
    issuer = f"urn:test:saml-idp:{port}"
    log = workdir / "saml-idp.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                node,
                str(SAML_IDP),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--cert",
                str(workdir / "idp-cert.pem"),
                "--key",
                str(workdir / "idp-key.pem"),
                "--issuer",
                issuer,
                "--acs",
                acs_url,
                "--aud",
                sp_entity_id,
                "--configFile",
                str(config),
            ],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        idp = SamlIdp(url=f"http://127.0.0.1:{port}", issuer=issuer)
        _wait_for(idp.metadata_url, process, log)
        yield idp
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def configure_from_metadata(idp: IdentityProvider, metadata_url: str) -> IdentityProvider:
    """Configure the org's SAML IdP from the IdP's metadata URL, as an admin does: through
    directory.services.idp, which fetches it under the outbound policy."""
    return idp_configure(
        org=idp.org,
        provider=idp.provider,
        protocol=IdentityProvider.Protocol.SAML,
        metadata_url=metadata_url,
        actor=OPERATOR,
    )
