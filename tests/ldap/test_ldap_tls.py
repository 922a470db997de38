"""ldaps:// and StartTLS against the tests' slapd, whose certificate a CA of its own signed."""

from __future__ import annotations

from directory.models import LdapSyncRun, Org
from directory.services.ldap_directory import ldap_test
from directory.services.ldap_sync import ldap_sync
from tests.idp_metadata import make_cert
from tests.ldap.conftest import configure
from tests.ldap_server import Tree


def test_ldaps_with_the_servers_ca_syncs(org: Org, ldap_tree: Tree) -> None:
    ldap_tree.add_user("ada")
    configure(
        org,
        ldap_tree,
        url=ldap_tree.server.ldaps_url,
        security="ldaps",
        ca_certificate=ldap_tree.server.ca_pem,
    )
    run = ldap_sync(org=org)
    assert run.status == LdapSyncRun.Status.SUCCESS, run.error
    assert org.users.get().user_name == "ada@example.org"


def test_starttls_with_the_servers_ca_syncs(org: Org, ldap_tree: Tree) -> None:
    ldap_tree.add_user("ada")
    ldap = configure(org, ldap_tree, security="starttls", ca_certificate=ldap_tree.server.ca_pem)
    assert ldap_test(ldap=ldap).users == 1


def test_a_certificate_no_trusted_ca_signed_is_refused(org: Org, ldap_tree: Tree) -> None:
    ldap_tree.add_user("ada")
    for security, url in (("ldaps", ldap_tree.server.ldaps_url), ("starttls", None)):
        configure(
            org,
            ldap_tree,
            url=url or ldap_tree.server.url,
            security=security,
            ca_certificate=make_cert("another CA").pem,
        )
        run = ldap_sync(org=org)
        assert run.status == LdapSyncRun.Status.FAILED, security
        assert "certificate verify failed" in run.error, run.error
    assert not org.users.exists()


def test_without_a_ca_certificate_the_systems_authorities_decide(org: Org, ldap_tree: Tree) -> None:
    configure(org, ldap_tree, url=ldap_tree.server.ldaps_url, security="ldaps")
    run = ldap_sync(org=org)
    assert run.status == LdapSyncRun.Status.FAILED
    assert run.error == (
        f"The TLS certificate of {ldap_tree.server.ldaps_url} was refused: certificate verify "
        "failed: self-signed certificate in certificate chain (give the CA certificate that "
        "signed it, or check the host name)"
    )
