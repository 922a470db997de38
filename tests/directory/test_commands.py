from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from directory.models import Org, ScimDirectory
from directory.services import group_create, idp_configure, scim_enable
from tokens.models import ScimToken

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_org_create_list_and_update(db: None) -> None:
    assert "Created org acme (Acme Corp) with 7 seats" in run(
        "org", "create", "acme", "--name", "Acme Corp", "--seats", "7"
    )
    assert "acme\tAcme Corp\t0/7 seats" in run("org", "list")
    run("org", "update", "acme", "--name", "Acme Inc", "--seats", "9")
    org = Org.objects.get(slug="acme")
    assert (org.name, org.seats) == ("Acme Inc", 9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("org", "create", "Bad Slug", "--name", "X"), "Invalid slug"),
        (("org", "update", "nope", "--seats", "3"), "No org with slug 'nope'"),
        (("org", "update", "acme"), "Nothing to update"),
        (("org", "update", "acme", "--seats", "-1"), "Seats cannot be negative"),
        (("org", "admin", "add", "acme", "not-an-email"), "is not an email address"),
        (("idp", "configure", "nope", "--provider", "okta", "--protocol", "saml"), "No org"),
        (("scim", "enable", "acme"), "Configure and save the org's end-user identity provider"),
        (("scim", "disable", "acme"), "has no SCIM directory"),
        (("scim", "token", "issue", "acme"), "has no SCIM directory"),
        (("scim", "delete", "acme"), "Add --yes to confirm"),
    ],
)
def test_commands_fail_with_a_clear_message(org: Org, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_a_duplicate_org_is_refused(org: Org) -> None:
    with pytest.raises(CommandError, match="already exists"):
        run("org", "create", "acme", "--name", "Again")
    assert Org.objects.count() == 1


def test_org_admin_add_creates_a_login_once_and_prints_how_to_sign_in(org: Org) -> None:
    first = run("org", "admin", "add", "acme", "Carol@Acme.example")
    assert "carol@acme.example is an admin of acme" in first
    assert "/accounts/login/" in first and "one-time password" in first
    second = run("org", "admin", "add", "acme", "carol@acme.example")
    assert "existing password" in second
    assert org.admins.count() == 1


def test_scim_enable_refuses_okta_over_oidc(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "oidc")
    with pytest.raises(CommandError, match="convert the connection to SAML first"):
        run("scim", "enable", "acme")
    assert not ScimDirectory.objects.exists()


def test_entra_over_oidc_may_enable_scim(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "entra", "--protocol", "oidc")
    assert "Base URL: http" in run("scim", "enable", "acme")


def test_the_documented_token_sequence(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml")
    out = run("scim", "enable", "acme")
    directory = ScimDirectory.objects.get()
    assert f"Base URL: {directory.base_url}" in out
    first = json.loads(run("scim", "token", "issue", "acme", "--json"))
    assert set(first) == {"id", "token", "base_url"}
    assert first["base_url"] == directory.base_url and first["token"].startswith("ccscim_")
    json.loads(run("scim", "token", "issue", "acme", "--json", "--name", "Entra"))
    with pytest.raises(CommandError, match="at most 2 active API tokens"):
        run("scim", "token", "issue", "acme")
    listing = run("scim", "token", "list", "acme")
    assert first["id"] in listing and "Entra" in listing and "never used" in listing
    assert first["token"] not in listing
    run("scim", "token", "revoke", "acme", first["id"])
    assert "revoked" in run("scim", "token", "list", "acme")
    assert ScimToken.objects.get(id=first["id"]).revoked_at is not None
    run("scim", "token", "issue", "acme")
    with pytest.raises(CommandError, match="No token"):
        run("scim", "token", "revoke", "acme", "not-a-uuid")


def test_scim_status_disable_policy_access_groups_and_delete(org: Org) -> None:
    idp_configure(org=org, provider="okta", protocol="saml")
    scim_enable(org=org)
    group_create(org=org, display_name="Engineering")
    assert "Deprovisioning for acme: Delete" in run(
        "scim", "policy", "acme", "--deprovision", "delete"
    )
    assert "limited to: Engineering" in run("scim", "access-groups", "acme", "--set", "engineering")
    with pytest.raises(CommandError, match="No group named 'Sales'"):
        run("scim", "access-groups", "acme", "--set", "Engineering,Sales")
    status = run("scim", "status", "acme")
    assert "SCIM enabled" in status and "Access groups: Engineering" in status
    assert "not limited" in run("scim", "access-groups", "acme", "--clear")
    run("scim", "disable", "acme")
    assert "SCIM disabled" in run("scim", "status", "acme")
    run("scim", "delete", "acme", "--yes")
    assert "not set up" in run("scim", "status", "acme")


def test_the_commands_exit_non_zero_from_the_shell(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "commandcenter.settings",
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert manage("migrate", "-v0").returncode == 0
    assert manage("org", "create", "shell", "--name", "Shell Org").returncode == 0
    assert (
        manage("idp", "configure", "shell", "--provider", "okta", "--protocol", "saml").returncode
        == 0
    )
    assert "Base URL" in manage("scim", "enable", "shell").stdout
    for _ in range(2):
        issued = manage("scim", "token", "issue", "shell", "--json")
        assert issued.returncode == 0 and json.loads(issued.stdout)["token"]
    third = manage("scim", "token", "issue", "shell", "--json")
    assert third.returncode != 0
    assert "at most 2 active API tokens" in third.stderr
    unknown = manage("org", "update", "missing", "--seats", "1")
    assert unknown.returncode != 0 and "No org with slug 'missing'" in unknown.stderr


def test_token_issue_without_json_prints_the_token_once_in_words(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml")
    run("scim", "enable", "acme")
    out = run("scim", "token", "issue", "acme", "--name", "Okta")
    assert "(Okta):" in out and "ccscim_" in out and "shown only once" in out
    assert not out.lstrip().startswith("{")
