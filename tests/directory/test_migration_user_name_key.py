from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from directory.models import EndUser, Group

BEFORE = ("directory", "0008_drop_org_indexes_covered_by_composites")
AFTER = ("directory", "0010_group_display_name_key")
MIGRATION = importlib.import_module("directory.migrations.0009_enduser_user_name_key")
GROUPS = importlib.import_module("directory.migrations.0010_group_display_name_key")


def _migrate(target: tuple[str, str]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def _migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def before() -> Iterator[Any]:
    """The apps as they were before the key, on a database migrated back to then; the
    database is migrated forward again afterwards, whatever the test did."""
    apps = _migrate(BEFORE)
    try:
        yield apps
    finally:
        _migrate(AFTER)
        _migrate_to_latest()


def _user(apps: Any, org: Any, name: str, age_days: int) -> Any:
    user = apps.get_model("directory", "EndUser").objects.create(org=org, user_name=name)
    created = timezone.now() - timedelta(days=age_days)
    apps.get_model("directory", "EndUser").objects.filter(pk=user.pk).update(created_at=created)
    return user


def _group(apps: Any, org: Any, name: str, age_days: int) -> Any:
    model = apps.get_model("directory", "Group")
    group = model.objects.create(org=org, display_name=name)
    created = timezone.now() - timedelta(days=age_days)
    model.objects.filter(pk=group.pk).update(created_at=created)
    return group


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_names_that_collide_under_the_key_both_survive_and_the_command_lists_them(
    before: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of two, so collisions and orgs straddle batch boundaries.
    monkeypatch.setattr(MIGRATION, "BATCH", 2)
    monkeypatch.setattr(GROUPS, "BATCH", 2)
    Org = before.get_model("directory", "Org")
    acme = Org.objects.create(slug="acme", name="Acme")
    globex = Org.objects.create(slug="globex", name="Globex")
    # Distinct under LOWER() on both databases, one name under the key.
    oldest = _user(before, acme, "Straße@acme.example", age_days=30)
    newer = _user(before, acme, "STRASSE@acme.example", age_days=20)
    wide_old = _user(before, acme, "ada@acme.example", age_days=10)
    wide_new = _user(before, acme, "Ａda@acme.example", age_days=5)
    plain = _user(before, acme, "bob@acme.example", age_days=1)
    theirs = _user(before, globex, "STRASSE@acme.example", age_days=40)
    their_other = _user(before, globex, "Ａda@acme.example", age_days=1)
    eng = _group(before, acme, "Straße", age_days=3)
    eng_too = _group(before, acme, "STRASSE", age_days=2)
    fin = _group(before, acme, "ﬁnance", age_days=1)
    their_eng = _group(before, globex, "STRASSE", age_days=9)

    _migrate(AFTER)

    keys = dict(EndUser.objects.values_list("id", "user_name_key"))
    assert keys == {
        oldest.id: "strasse@acme.example",
        newer.id: None,
        wide_old.id: "ada@acme.example",
        wide_new.id: None,
        plain.id: "bob@acme.example",
        theirs.id: "strasse@acme.example",
        their_other.id: "ada@acme.example",
    }
    assert dict(Group.objects.values_list("id", "display_name_key")) == {
        eng.id: "strasse",
        eng_too.id: None,
        fin.id: "finance",
        their_eng.id: "strasse",
    }
    _migrate_to_latest()  # the command is today's code, for today's schema
    lines = _run("scim", "collisions", "acme").splitlines()
    assert lines == [
        f"user\t{newer.id}\tSTRASSE@acme.example\tcollides with {oldest.id}\tStraße@acme.example",
        f"user\t{wide_new.id}\tＡda@acme.example\tcollides with {wide_old.id}\tada@acme.example",
        f"group\t{eng_too.id}\tSTRASSE\tcollides with {eng.id}\tStraße",
    ]
    assert _run("scim", "collisions", "globex").strip() == "globex: no name collisions."


@pytest.mark.django_db(transaction=True)
def test_the_fill_can_run_again_with_the_same_result(before: Any) -> None:
    Org = before.get_model("directory", "Org")
    acme = Org.objects.create(slug="acme", name="Acme")
    first = _user(before, acme, "ﬁona@acme.example", age_days=2)
    second = _user(before, acme, "FIONA@acme.example", age_days=1)
    _migrate(AFTER)
    # As after an interrupted migration: run the fill again over filled rows.
    MIGRATION.fill(None, connection.schema_editor())
    assert dict(EndUser.objects.values_list("id", "user_name_key")) == {
        first.id: "fiona@acme.example",
        second.id: None,
    }


@pytest.mark.django_db
def test_collisions_of_an_unknown_org_fail_with_a_reason() -> None:
    with pytest.raises(CommandError, match="nope"):
        _run("scim", "collisions", "nope")
