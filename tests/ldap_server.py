"""A real OpenLDAP server for the tests and the benchmark: Debian's slapd on 127.0.0.1
on a free port, with a generated slapd.conf (mdb backend; the core, cosine,
inetorgperson and nis schemas, and msuser for Active Directory-shaped entries) in a
temporary directory, stopped at the end."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap3

SLAPD = "/usr/sbin/slapd"
# msuser: Active Directory's user and group classes, for AD-shaped entries (objectGUID,
# userAccountControl, userPrincipalName, sAMAccountName).
SCHEMAS = ("core", "cosine", "inetorgperson", "nis", "msuser")
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"


def _tls_files(root: Path) -> None:
    """A CA, and a certificate it signed for 127.0.0.1, as ca.pem, cert.pem, key.pem."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test LDAP CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (root / "ca.pem").write_bytes(ca.public_bytes(pem))
    (root / "cert.pem").write_bytes(cert.public_bytes(pem))
    (root / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Slapd:
    """One slapd process and its data directory."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="slapd-"))
        self.port = _free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        # The same server over TLS (ldaps://) and StartTLS (on url), with a CA of its own.
        self.tls_port = _free_port()
        self.ldaps_url = f"ldaps://127.0.0.1:{self.tls_port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Slapd:
        (self.root / "db").mkdir()
        _tls_files(self.root)
        includes = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in SCHEMAS)
        (self.root / "slapd.conf").write_text(
            f"""{includes}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {self.root}/slapd.pid
TLSCACertificateFile {self.root}/ca.pem
TLSCertificateFile {self.root}/cert.pem
TLSCertificateKeyFile {self.root}/key.pem
sizelimit 1000
database mdb
maxsize 4294967296
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {self.root}/db
index entryUUID eq
"""
        )
        self.process = subprocess.Popen(
            [
                SLAPD,
                "-f",
                str(self.root / "slapd.conf"),
                "-h",
                f"{self.url}/ {self.ldaps_url}/",
                "-d",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    err = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"slapd did not start: {err[-2000:]}") from None
                time.sleep(0.05)
        with self.connection() as c:
            c.add(SUFFIX, ["top", "dcObject", "organization"], {"o": "Example", "dc": "example"})
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stderr:
                self.process.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def ca_pem(self) -> str:
        """The PEM of the CA that signed the server's certificate."""
        return (self.root / "ca.pem").read_text()

    def connection(self) -> ldap3.Connection:
        """A connection bound as the server's administrator."""
        return ldap3.Connection(
            ldap3.Server("127.0.0.1", port=self.port, get_info=ldap3.NONE),
            user=ADMIN_DN,
            password=ADMIN_PASSWORD,
            auto_bind=True,
            raise_exceptions=True,
        )

    def ldapadd(self, ldif: str) -> None:
        """Load LDIF with ldap-utils' ldapadd (quicker than ldap3 for thousands)."""
        subprocess.run(
            ["ldapadd", "-x", "-H", self.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, "-c"],
            input=ldif.encode(),
            check=True,
            stdout=subprocess.DEVNULL,
        )


# What msuser's top class requires of every entry (AD fills these in itself).
_AD_MUST = {
    "instanceType": "4",
    "nTSecurityDescriptor": b"\x01\x00",
    "objectCategory": "CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example",
}


@dataclass
class Tree:
    """A subtree of the server of one test's own (ou=people and ou=groups under it),
    so tests sharing the server never see each other's entries."""

    server: Slapd
    base: str

    @property
    def people(self) -> str:
        return f"ou=people,{self.base}"

    @property
    def groups(self) -> str:
        return f"ou=groups,{self.base}"

    @classmethod
    def create(cls, server: Slapd) -> Tree:
        tree = cls(server=server, base=f"ou=t{uuid.uuid4().hex[:12]},{SUFFIX}")
        with server.connection() as c:
            c.add(tree.base, ["organizationalUnit"])
            c.add(tree.people, ["organizationalUnit"])
            c.add(tree.groups, ["organizationalUnit"])
        return tree

    def user_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people}"

    def group_dn(self, cn: str) -> str:
        return f"cn={cn},{self.groups}"

    def add_user(self, uid: str, *, given: str = "", sn: str = "", **extra: Any) -> str:
        attributes: dict[str, Any] = {
            "uid": uid,
            "cn": f"{given} {sn}".strip() or uid,
            "sn": sn or uid,
            "mail": f"{uid}@example.org",
        }
        if given:
            attributes["givenName"] = given
        attributes.update(extra)
        attributes = {k: v for k, v in attributes.items() if v not in (None, [])}
        with self.server.connection() as c:
            c.add(self.user_dn(uid), ["inetOrgPerson"], attributes)
        return self.user_dn(uid)

    def add_group(self, cn: str, members: list[str]) -> str:
        with self.server.connection() as c:
            c.add(self.group_dn(cn), ["groupOfNames"], {"cn": cn, "member": members or [""]})
        return self.group_dn(cn)

    def add_posix_group(self, cn: str, gid: int, member_uids: list[str]) -> str:
        with self.server.connection() as c:
            c.add(
                self.group_dn(cn),
                ["posixGroup"],
                {"cn": cn, "gidNumber": gid, "memberUid": member_uids},
            )
        return self.group_dn(cn)

    def add_ad_user(
        self, sam: str, *, guid: uuid.UUID, uac: int = 512, given: str = "", sn: str = "x"
    ) -> str:
        """An entry shaped as Active Directory stores a user (objectGUID as 16 bytes).
        extensibleObject admits sAMAccountName, which msuser defines but no class of it
        allows (AD's securityPrincipal is not in it)."""
        dn = f"cn={sam},{self.people}"
        attributes = {
            "cn": sam,
            "sn": sn,
            "givenName": given or sam,
            "sAMAccountName": sam,
            "userPrincipalName": f"{sam}@corp.example",
            "mail": f"{sam}.mail@corp.example",
            "objectGUID": guid.bytes_le,
            "userAccountControl": str(uac),
            **_AD_MUST,
        }
        with self.server.connection() as c:
            c.add(dn, ["user", "extensibleObject"], attributes)
        return dn

    def add_ad_group(self, cn: str, *, guid: uuid.UUID, members: list[str]) -> str:
        dn = f"cn={cn},{self.groups}"
        attributes = {
            "cn": cn,
            "groupType": "-2147483646",
            "objectGUID": guid.bytes_le,
            "member": members,
            **_AD_MUST,
        }
        with self.server.connection() as c:
            c.add(dn, ["group", "extensibleObject"], attributes)
        return dn

    def modify(self, dn: str, **values: Any) -> None:
        with self.server.connection() as c:
            c.modify(dn, {k: [(ldap3.MODIFY_REPLACE, v)] for k, v in values.items()})

    def rename(self, dn: str, new_rdn: str) -> None:
        with self.server.connection() as c:
            c.modify_dn(dn, new_rdn)

    def delete(self, dn: str) -> None:
        with self.server.connection() as c:
            c.delete(dn)
