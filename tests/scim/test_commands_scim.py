from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from directory.models import EndUser, Group, Org, ScimDirectory, Source
from directory.services import UserFields, group_create, user_create
from tests.actors import OPERATOR
from tokens.auth import token_authenticate, token_touch
from tokens.models import ScimToken

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# enable / disable / status -------------------------------------------------------


def test_scim_enable_prints_the_base_url(org: Org, settings: Any) -> None:
    settings.SITE_URL = "https://cc.example.com"
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml")
    out = run("scim", "enable", "acme")
    directory = ScimDirectory.objects.get(org=org)
    assert "SCIM is enabled for acme." in out
    assert f"Base URL: https://cc.example.com/scim/v2/{directory.id}" in out


def test_scim_enable_refuses_an_org_without_an_identity_provider(org: Org) -> None:
    with pytest.raises(CommandError, match="Configure and save the org's end-user identity"):
        run("scim", "enable", "acme")
    assert not ScimDirectory.objects.exists()


def test_scim_enable_refuses_okta_over_oidc(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "oidc")
    with pytest.raises(CommandError, match="convert the connection to SAML first"):
        run("scim", "enable", "acme")
    assert not ScimDirectory.objects.exists()


def test_entra_over_oidc_may_enable_scim(org: Org) -> None:
    run("idp", "configure", "acme", "--provider", "entra", "--protocol", "oidc")
    assert "Base URL: http" in run("scim", "enable", "acme")


def test_enabling_again_keeps_the_same_base_url(directory: ScimDirectory) -> None:
    run("scim", "disable", "acme")
    out = run("scim", "enable", "acme")
    assert f"Base URL: {directory.base_url}" in out
    assert ScimDirectory.objects.count() == 1


def test_scim_disable_switches_the_directory_off_and_its_tokens_stop_working(
    directory: ScimDirectory, token: str
) -> None:
    assert "SCIM is disabled for acme" in run("scim", "disable", "acme")
    directory.refresh_from_db()
    assert not directory.enabled
    assert token_authenticate(token) is None


def test_scim_status_shows_state_url_policy_tokens_and_counts(
    directory: ScimDirectory, token: str
) -> None:
    org = directory.org
    for name in ("a@acme.example", "b@acme.example"):
        user_create(
            org=org,
            fields=UserFields(user_name=name),
            source=Source.SCIM,
            directory=directory,
            actor=OPERATOR,
        )
    user_create(org=org, fields=UserFields(user_name="manual@acme.example"), actor=OPERATOR)
    group_create(
        org=org, display_name="Engineering", source=Source.SCIM, directory=directory, actor=OPERATOR
    )
    out = run("scim", "status", "acme")
    assert "acme: SCIM enabled" in out
    assert f"Base URL: {directory.base_url}" in out
    assert "Deprovisioning: Disable" in out
    assert "Active tokens: 1" in out
    assert "Users: 2, groups: 1, seats: 3/10" in out


def test_scim_status_of_an_org_without_scim_says_how_to_start(org: Org) -> None:
    assert "acme: SCIM is not set up (run `scim enable acme`)" in run("scim", "status", "acme")


def test_scim_status_shows_a_disabled_directory(directory: ScimDirectory) -> None:
    run("scim", "disable", "acme")
    assert "acme: SCIM disabled" in run("scim", "status", "acme")


# delete / policy / access groups -------------------------------------------------


def test_scim_delete_refuses_without_yes_and_changes_nothing(
    directory: ScimDirectory, token: str
) -> None:
    with pytest.raises(CommandError, match="Add --yes to confirm"):
        run("scim", "delete", "acme")
    directory.refresh_from_db()
    assert directory.deleted_at is None and directory.enabled
    assert token_authenticate(token) is not None


def test_scim_delete_stops_syncing_and_keeps_the_users(
    directory: ScimDirectory, token: str
) -> None:
    user_create(
        org=directory.org,
        fields=UserFields(user_name="a@acme.example"),
        source=Source.SCIM,
        directory=directory,
        actor=OPERATOR,
    )
    out = run("scim", "delete", "acme", "--yes")
    assert "Deleted the SCIM directory of acme" in out
    assert token_authenticate(token) is None
    kept = EndUser.objects.get()
    assert (kept.directory_id, kept.source) == (None, "manual")
    assert "not set up" in run("scim", "status", "acme")


def test_scim_policy_sets_what_deprovisioning_does(directory: ScimDirectory) -> None:
    org = directory.org
    assert "Deprovisioning for acme: Delete" in run(
        "scim", "policy", "acme", "--deprovision", "delete"
    )
    org.refresh_from_db()
    assert org.deprovision == "delete"
    assert "Deprovisioning: Delete" in run("scim", "status", "acme")
    run("scim", "policy", "acme", "--deprovision", "disable")
    org.refresh_from_db()
    assert org.deprovision == "disable"


def test_scim_access_groups_set_and_clear(directory: ScimDirectory) -> None:
    org = directory.org
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    assert "limited to: Engineering" in run("scim", "access-groups", "acme", "--set", "engineering")
    assert "Access groups: Engineering" in run("scim", "status", "acme")
    with pytest.raises(CommandError, match="No group named 'Sales'"):
        run("scim", "access-groups", "acme", "--set", "Engineering,Sales")
    assert list(org.access_groups.values_list("display_name", flat=True)) == ["Engineering"]
    assert "not limited" in run("scim", "access-groups", "acme", "--clear")
    assert not org.access_groups.exists()


def test_the_orgs_policies_are_set_without_a_directory_and_outlive_one(org: Org) -> None:
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="bob@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="A", member_ids=[str(ada.id)], actor=OPERATOR)
    group_create(org=org, display_name="B", actor=OPERATOR)

    def marked() -> set[str]:
        return set(org.users.exclude(access="").values_list("user_name", flat=True))

    assert "Deprovisioning for acme: Delete" in run(
        "scim", "policy", "acme", "--deprovision", "delete"
    )
    assert "limited to: A, B" in run("scim", "access-groups", "acme", "--set", "A,B")
    assert marked() == {"bob@acme.example"}
    status = run("scim", "status", "acme")
    assert "not set up" in status and "Deprovisioning: Delete" in status
    assert "Access groups: A, B" in status
    run("idp", "configure", "acme", "--provider", "okta", "--protocol", "saml")
    run("scim", "enable", "acme")
    run("scim", "delete", "acme", "--yes")
    status = run("scim", "status", "acme")
    assert "Deprovisioning: Delete" in status and "Access groups: A, B" in status
    assert marked() == {"bob@acme.example"}
    assert "not limited" in run("scim", "access-groups", "acme", "--clear")
    assert marked() == set() and "Access groups: none" in run("scim", "status", "acme")
    trail = org.audit_events.filter(action__startswith="org.").order_by("id")
    assert [(a, v) for a, v in trail.values_list("action", "via")] == [
        ("org.deprovision", "cli"),
        ("org.access_groups", "cli"),
        ("org.access_groups", "cli"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("enable", "nope"), "No org with slug 'nope'"),
        (("disable", "acme"), "has no SCIM directory"),
        (("disable", "nope"), "No org with slug 'nope'"),
        (("status", "nope"), "No org with slug 'nope'"),
        (("delete", "acme", "--yes"), "has no SCIM directory"),
        (("policy", "acme", "--deprovision", "archive"), "invalid choice"),
        (("access-groups", "acme", "--set", "A"), "No group named 'A' in this org"),
        (("access-groups", "acme", "--set", "A", "--clear"), "not allowed with argument"),
        (("access-groups", "acme", "--set", " , "), "Give group names"),
        (("token", "issue", "acme"), "has no SCIM directory: run `scim enable acme`"),
        (("token", "issue", "nope"), "No org with slug 'nope'"),
        (("token", "list", "acme"), "has no SCIM directory"),
        (("token", "revoke", "acme", "x"), "has no SCIM directory"),
        (("token",), "required: token_command"),
        (("reboot", "acme"), "invalid choice"),
    ],
)
def test_scim_commands_refuse_bad_input_with_a_one_line_reason(
    org: Org, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as caught:
        run("scim", *args)
    assert "\n" not in str(caught.value).strip()
    assert not ScimDirectory.objects.exists()


# tokens --------------------------------------------------------------------------


def test_token_issue_prints_the_token_once_with_the_base_url(directory: ScimDirectory) -> None:
    out = run("scim", "token", "issue", "acme", "--name", "Okta")
    stored = ScimToken.objects.get()
    plaintext = next(line for line in out.splitlines() if line.startswith("ccscim_"))
    assert f"Token {stored.id} (Okta):" in out
    assert "shown only once" in out
    assert f"Base URL: {directory.base_url}" in out
    found = token_authenticate(plaintext)
    assert found is not None and found.id == stored.id


def test_token_issue_json_prints_exactly_id_token_and_base_url(
    directory: ScimDirectory,
) -> None:
    issued = json.loads(run("scim", "token", "issue", "acme", "--json"))
    assert set(issued) == {"id", "token", "base_url"}
    assert issued["base_url"] == directory.base_url
    assert issued["id"] == str(ScimToken.objects.get().id)
    found = token_authenticate(issued["token"])
    assert found is not None and str(found.id) == issued["id"]


def test_a_third_token_is_refused_until_one_is_revoked(directory: ScimDirectory) -> None:
    first = json.loads(run("scim", "token", "issue", "acme", "--json"))
    run("scim", "token", "issue", "acme", "--json")
    with pytest.raises(CommandError, match="at most 2 active API tokens: revoke one"):
        run("scim", "token", "issue", "acme", "--json")
    assert ScimToken.objects.count() == 2
    assert "Revoked token" in run("scim", "token", "revoke", "acme", first["id"])
    assert token_authenticate(first["token"]) is None
    run("scim", "token", "issue", "acme")
    assert directory.tokens.filter(revoked_at__isnull=True).count() == 2


def test_token_list_shows_each_token_without_its_secret(directory: ScimDirectory) -> None:
    used = json.loads(run("scim", "token", "issue", "acme", "--name", "Okta", "--json"))
    unused = json.loads(run("scim", "token", "issue", "acme", "--name", "Entra", "--json"))
    found = token_authenticate(used["token"])
    assert found is not None
    token_touch(found, ip="203.0.113.7", user_agent="Okta SCIM Client 1.0.0")
    run("scim", "token", "revoke", "acme", unused["id"])
    rows = run("scim", "token", "list", "acme").splitlines()
    assert len(rows) == 2
    okta = next(r for r in rows if r.startswith(used["id"]))
    entra = next(r for r in rows if r.startswith(unused["id"]))
    assert f"\tOkta\t{used['token'][:11]}…\tcreated " in okta
    assert "last used" in okta and "from 203.0.113.7 (Okta SCIM Client 1.0.0)" in okta
    assert okta.endswith("\tactive")
    assert "\tEntra\t" in entra and "never used" in entra and "\trevoked " in entra
    listing = "\n".join(rows)
    for secret in (used["token"], unused["token"]):
        assert secret not in listing and secret[11:] not in listing


def test_token_list_of_a_directory_without_tokens_says_so(directory: ScimDirectory) -> None:
    assert run("scim", "token", "list", "acme").strip() == "No tokens."


def test_token_revoke_refuses_an_unknown_or_malformed_id(directory: ScimDirectory) -> None:
    with pytest.raises(CommandError, match="No token 'not-a-uuid'"):
        run("scim", "token", "revoke", "acme", "not-a-uuid")
    with pytest.raises(CommandError, match="No token"):
        run("scim", "token", "revoke", "acme", "00000000-0000-0000-0000-000000000000")


def test_token_revoke_cannot_reach_another_orgs_token(
    directory: ScimDirectory, other_directory: ScimDirectory, other_token: str
) -> None:
    theirs = other_directory.tokens.get()
    with pytest.raises(CommandError, match="No token"):
        run("scim", "token", "revoke", "acme", str(theirs.id))
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert token_authenticate(other_token) is not None


def test_token_list_shows_only_the_orgs_own_tokens(
    directory: ScimDirectory, token: str, other_directory: ScimDirectory, other_token: str
) -> None:
    listing = run("scim", "token", "list", "acme")
    assert str(directory.tokens.get().id) in listing
    assert str(other_directory.tokens.get().id) not in listing


def test_revoking_twice_is_harmless(directory: ScimDirectory, token: str) -> None:
    token_id = str(directory.tokens.get().id)
    run("scim", "token", "revoke", "acme", token_id)
    first = ScimToken.objects.get().revoked_at
    run("scim", "token", "revoke", "acme", token_id)
    assert ScimToken.objects.get().revoked_at == first


def test_group_counts_in_status_ignore_groups_of_other_sources(
    directory: ScimDirectory,
) -> None:
    group_create(org=directory.org, display_name="Made by hand", actor=OPERATOR)
    assert Group.objects.count() == 1
    assert "Users: 0, groups: 0" in run("scim", "status", "acme")


# the documented sequence, from a real shell ------------------------------------


def test_the_documented_sequence_from_the_shell_exits_non_zero_on_refusal(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "REDIS_URL": "",
        "SITE_URL": "https://cc.example.com",
        "DJANGO_SETTINGS_MODULE": "commandcenter.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(*args: str) -> str:
        done = manage(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    ok("migrate", "-v0")
    ok("org", "create", "shell", "--name", "Shell Org")
    ok("idp", "configure", "shell", "--provider", "okta", "--protocol", "saml")
    assert "Base URL: https://cc.example.com/scim/v2/" in ok("scim", "enable", "shell")
    issued = [json.loads(ok("scim", "token", "issue", "shell", "--json")) for _ in range(2)]
    for token in issued:
        assert set(token) == {"id", "token", "base_url"}
        assert token["base_url"].startswith("https://cc.example.com/scim/v2/")

    third = manage("scim", "token", "issue", "shell", "--json")
    assert third.returncode != 0 and third.stdout == ""
    assert "at most 2 active API tokens" in third.stderr

    listing = ok("scim", "token", "list", "shell")
    assert all(t["id"] in listing and t["token"] not in listing for t in issued)
    assert "Revoked token" in ok("scim", "token", "revoke", "shell", issued[0]["id"])
    assert "\trevoked " in ok("scim", "token", "list", "shell")

    bad_revoke = manage("scim", "token", "revoke", "shell", "not-a-token")
    assert bad_revoke.returncode != 0 and "No token 'not-a-token'" in bad_revoke.stderr
    unknown = manage("org", "update", "missing", "--seats", "1")
    assert unknown.returncode != 0 and "No org with slug 'missing'" in unknown.stderr
    bad_protocol = manage("idp", "configure", "shell", "--provider", "okta", "--protocol", "ldap")
    assert bad_protocol.returncode != 0 and "invalid choice: 'ldap'" in bad_protocol.stderr
