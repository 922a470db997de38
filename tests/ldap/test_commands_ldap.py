from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from directory.models import AuditEvent, LdapDirectory, Org
from tests.conftest import free_port
from tests.ldap_server import ADMIN_DN, ADMIN_PASSWORD, Tree


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _configure(tree: Tree, tmp_path: Path, *extra: str, password: str = ADMIN_PASSWORD) -> str:
    secret = tmp_path / "bind-password"
    secret.write_text(password + "\n")
    return run(
        "ldap", "configure", "acme",
        "--url", tree.server.url, "--security", "none",
        "--bind-dn", ADMIN_DN, "--bind-password-file", str(secret),
        "--user-base", tree.people, "--group-base", tree.groups,
        "--preset", "openldap", *extra,
    )  # fmt: skip


def test_configure_test_sync_status_remove(org: Org, ldap_tree: Tree, tmp_path: Path) -> None:
    ldap_tree.add_group("Staff", [ldap_tree.add_user("ada", given="Ada", sn="Lovelace")])
    ldap_tree.add_user("alan", given="Alan", sn="Turing")

    out = _configure(ldap_tree, tmp_path, "--page-size", "1")
    assert f"Saved the LDAP directory of acme: {ldap_tree.server.url} (OpenLDAP)" in out
    ldap = LdapDirectory.objects.get(org=org)
    assert ldap.bind_password == ADMIN_PASSWORD  # the newline of the file is not part of it
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT bind_password FROM directory_ldapdirectory")
        stored = cursor.fetchone()[0]
    assert stored and ADMIN_PASSWORD not in stored
    assert AuditEvent.objects.filter(org=org, action="ldap.configure").exists()

    out = run("ldap", "test", "acme")
    assert "Users found: 2" in out and "Groups found: 1" in out
    assert "ada@example.org  Ada Lovelace  active" in out
    assert not org.users.exists()  # a test changes nothing

    out = run("ldap", "sync", "acme")
    assert "Sync of acme: success" in out
    assert "users: 2 found, 2 created" in out and "groups: 1 found, 1 created" in out
    assert org.users.count() == 2

    out = run("ldap", "status", "acme")
    assert "password set (not shown)" in out and ADMIN_PASSWORD not in out
    assert " cli success: users: 2 found, 2 created" in out

    out = run("ldap", "remove", "acme")
    assert "its 2 user(s) stay, as manual ones" in out
    assert set(org.users.values_list("source", flat=True)) == {"manual"}


def test_sync_exits_non_zero_with_the_reason_when_the_bind_fails(
    org: Org, ldap_tree: Tree, tmp_path: Path
) -> None:
    _configure(ldap_tree, tmp_path, password="wrong")
    out = StringIO()
    with pytest.raises(CommandError, match="refused the bind DN and password"):
        call_command("ldap", "sync", "acme", stdout=out)
    assert "Sync of acme: failed" in out.getvalue()
    with pytest.raises(CommandError, match="refused the bind DN and password"):
        run("ldap", "test", "acme")


def test_an_unreachable_server_is_one_clear_line(org: Org, ldap_tree: Tree, tmp_path: Path) -> None:
    _configure(ldap_tree, tmp_path, "--url", f"ldap://127.0.0.1:{free_port()}")
    with pytest.raises(CommandError, match=r"^Cannot reach ldap://127\.0\.0\.1:\d+"):
        run("ldap", "test", "acme")


def test_bad_input_is_refused(org: Org, ldap_tree: Tree, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not an ldap:// or ldaps:// URL"):
        _configure(ldap_tree, tmp_path, "--url", "http://example.org")
    with pytest.raises(CommandError, match="Unknown mapped attribute"):
        _configure(ldap_tree, tmp_path, "--attribute", "shoe_size=x")
    with pytest.raises(CommandError, match="Cannot read the password file"):
        run(
            "ldap", "configure", "acme", "--url", "ldaps://ldap.example.org",
            "--bind-dn", ADMIN_DN, "--bind-password-file", str(tmp_path / "missing"),
            "--user-base", "dc=x", "--preset", "ad",
        )  # fmt: skip
    with pytest.raises(CommandError, match="has no LDAP directory"):
        run("ldap", "sync", "acme")
    with pytest.raises(CommandError, match="No org"):
        run("ldap", "status", "nope")
    assert not LdapDirectory.objects.exists()


def test_attribute_overrides_choose_the_username(org: Org, ldap_tree: Tree, tmp_path: Path) -> None:
    ldap_tree.add_user("ada")
    _configure(ldap_tree, tmp_path, "--attribute", "user_name=uid")
    run("ldap", "sync", "acme")
    assert org.users.get().user_name == "ada"
