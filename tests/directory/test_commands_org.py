from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from directory.models import Org, OrgAdmin


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_org_create_prints_the_new_org(db: None) -> None:
    out = run("org", "create", "acme", "--name", "Acme Corp", "--seats", "7")
    assert "Created org acme (Acme Corp) with 7 seats" in out
    org = Org.objects.get(slug="acme")
    assert (org.name, org.seats) == ("Acme Corp", 7)


def test_org_create_gives_a_hundred_seats_by_default(db: None) -> None:
    assert "with 100 seats" in run("org", "create", "initech", "--name", "Initech")


def test_org_list_shows_every_org_with_its_seats(org: Org, other_org: Org) -> None:
    listing = run("org", "list")
    assert "acme\tAcme Corp\t0/10 seats" in listing
    assert "globex\tGlobex\t0/10 seats" in listing
    assert listing.index("acme") < listing.index("globex")


def test_org_list_says_how_to_start_when_there_are_no_orgs(db: None) -> None:
    assert "org create SLUG --name NAME" in run("org", "list")


def test_org_update_renames_and_changes_seats(org: Org) -> None:
    assert "Updated org acme: Acme Inc, 9 seats" in run(
        "org", "update", "acme", "--name", "Acme Inc", "--seats", "9"
    )
    org.refresh_from_db()
    assert (org.name, org.seats) == ("Acme Inc", 9)


def test_org_update_may_change_only_the_seats(org: Org) -> None:
    run("org", "update", "acme", "--seats", "3")
    org.refresh_from_db()
    assert (org.name, org.seats) == ("Acme Corp", 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("org", "create", "Bad Slug", "--name", "X"), "Invalid slug 'Bad Slug'"),
        (("org", "create", "ok", "--name", "   "), "The org needs a name"),
        (("org", "create", "ok", "--name", "X", "--seats", "-1"), "Seats cannot be negative"),
        (("org", "create", "ok", "--name", "X", "--seats", "many"), "invalid int value"),
        (("org", "create", "ok"), "required: --name"),
        (("org", "update", "nope", "--seats", "3"), "No org with slug 'nope'"),
        (("org", "update", "acme"), "Nothing to update"),
        (("org", "update", "acme", "--seats", "-1"), "Seats cannot be negative"),
        (("org", "update", "acme", "--name", ""), "The org needs a name"),
        (("org", "admin", "add", "nope", "carol@acme.example"), "No org with slug 'nope'"),
        (("org", "admin", "add", "acme", "not-an-email"), "is not an email address"),
        (("org", "frobnicate"), "invalid choice"),
        (("org",), "required: subcommand"),
    ],
)
def test_org_commands_refuse_bad_input_with_a_one_line_reason(
    org: Org, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as caught:
        run(*args)
    assert "\n" not in str(caught.value).strip()
    org.refresh_from_db()
    assert (Org.objects.count(), org.name, org.seats) == (1, "Acme Corp", 10)


def test_a_duplicate_org_is_refused_and_the_first_is_untouched(org: Org) -> None:
    with pytest.raises(CommandError, match="An org with slug 'acme' already exists"):
        run("org", "create", "acme", "--name", "Again")
    assert list(Org.objects.values_list("name", flat=True)) == ["Acme Corp"]


def test_org_admin_add_creates_a_login_and_prints_a_password_that_works(
    org: Org, settings: Any
) -> None:
    settings.SITE_URL = "https://cc.example.com"
    out = run("org", "admin", "add", "acme", "Carol@Acme.example")
    assert "carol@acme.example is an admin of acme" in out
    assert "Sign in at https://cc.example.com/accounts/login/ as carol@acme.example" in out
    found = re.search(r"one-time password (\S+) ", out)
    assert found is not None
    user = User.objects.get(username="carol@acme.example")
    assert user.check_password(found.group(1))
    assert OrgAdmin.objects.filter(org=org, user=user).exists()


def test_org_admin_add_keeps_an_existing_login_and_its_password(
    org: Org, other_org: Org, other_admin: User
) -> None:
    password_before = other_admin.password
    out = run("org", "admin", "add", "acme", "BOB@globex.example")
    assert "bob@globex.example is an admin of acme" in out
    assert "/accounts/login/ with their existing password" in out
    assert "one-time password" not in out
    other_admin.refresh_from_db()
    assert other_admin.password == password_before
    assert set(other_admin.org_admins.values_list("org__slug", flat=True)) == {"acme", "globex"}


def test_adding_the_same_admin_twice_makes_one_membership(org: Org) -> None:
    run("org", "admin", "add", "acme", "carol@acme.example")
    run("org", "admin", "add", "acme", "carol@acme.example")
    assert org.admins.count() == 1 and User.objects.count() == 1


def test_a_refused_admin_add_creates_no_login(org: Org) -> None:
    with pytest.raises(CommandError):
        run("org", "admin", "add", "acme", "carol@")
    with pytest.raises(CommandError):
        run("org", "admin", "add", "missing", "carol@acme.example")
    assert not User.objects.exists() and not OrgAdmin.objects.exists()
