"""Migrations 0012 and 0013: the deprovisioning policy and the access groups move from
the org's live SCIM directory to the org, and every user's mark follows them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = ("directory", "0011_auditevent_via_scim")
AFTER = ("directory", "0013_remove_scimdirectory_deprovision_and_access_groups")


def _migrate(target: tuple[str, str]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.fixture
def before() -> Iterator[Any]:
    """The apps as they were while the directory held the settings, on a database
    migrated back to then; migrated forward again afterwards, whatever the test did."""
    apps = _migrate(BEFORE)
    try:
        yield apps
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def _org_with_users(apps: Any, slug: str) -> tuple[Any, dict[str, Any]]:
    org = apps.get_model("directory", "Org").objects.create(slug=slug, name=slug)
    user = apps.get_model("directory", "EndUser").objects
    return org, {n: user.create(org=org, user_name=f"{n}@{slug}.example") for n in "abc"}


def _group(apps: Any, org: Any, name: str, *members: Any) -> Any:
    group = apps.get_model("directory", "Group").objects.create(org=org, display_name=name)
    membership = apps.get_model("directory", "Membership").objects
    for user in members:
        membership.create(group=group, user=user)
    return group


def _marks(apps: Any, org: Any) -> dict[str, str]:
    users = apps.get_model("directory", "EndUser").objects.filter(org_id=org.pk)
    return {u.split("@")[0]: access for u, access in users.values_list("user_name", "access")}


@pytest.mark.django_db(transaction=True)
def test_each_org_takes_its_live_directorys_policy_and_access_groups(before: Any) -> None:
    ScimDirectory = before.get_model("directory", "ScimDirectory")
    NOT_IN = "NOT_IN_ACCESS_GROUPS"
    # Acme: a live directory, policy "delete", access groups A and B; c is outside.
    acme, acme_users = _org_with_users(before, "acme")
    a = _group(before, acme, "A", acme_users["a"])
    b = _group(before, acme, "B", acme_users["b"])
    _group(before, acme, "Unrelated", acme_users["c"])
    live = ScimDirectory.objects.create(org=acme, deprovision="delete")
    live.access_groups.set([a, b])
    before.get_model("directory", "EndUser").objects.filter(pk=acme_users["c"].pk).update(
        access=NOT_IN
    )
    # An older directory of Acme, deleted, with other settings: they are not Acme's.
    old = ScimDirectory.objects.create(org=acme, deprovision="disable", deleted_at=timezone.now())
    old.access_groups.set([_group(before, acme, "Old")])
    # Globex: only a deleted directory, whose restriction left a mark behind.
    globex, globex_users = _org_with_users(before, "globex")
    gone = ScimDirectory.objects.create(org=globex, deprovision="delete", deleted_at=timezone.now())
    gone.access_groups.set([_group(before, globex, "G", globex_users["a"])])
    before.get_model("directory", "EndUser").objects.filter(pk=globex_users["b"].pk).update(
        access=NOT_IN
    )
    # Initech: no directory at all.
    initech, _ = _org_with_users(before, "initech")

    after = _migrate(AFTER)
    Org = after.get_model("directory", "Org")
    acme_now = Org.objects.get(pk=acme.pk)
    assert acme_now.deprovision == "delete"
    assert sorted(acme_now.access_groups.values_list("display_name", flat=True)) == ["A", "B"]
    assert _marks(after, acme) == {"a": "", "b": "", "c": NOT_IN}
    globex_now = Org.objects.get(pk=globex.pk)
    assert globex_now.deprovision == "disable" and not globex_now.access_groups.exists()
    assert _marks(after, globex) == {"a": "", "b": "", "c": ""}  # the stale mark is gone
    initech_now = Org.objects.get(pk=initech.pk)
    assert initech_now.deprovision == "disable" and not initech_now.access_groups.exists()
    assert not hasattr(after.get_model("directory", "ScimDirectory"), "access_groups")


@pytest.mark.django_db(transaction=True)
def test_migrating_back_gives_the_live_directory_its_orgs_settings(before: Any) -> None:
    acme, users = _org_with_users(before, "acme")
    a = _group(before, acme, "A", users["a"])
    b = _group(before, acme, "B", users["b"])
    before.get_model("directory", "ScimDirectory").objects.create(org=acme)
    after = _migrate(AFTER)
    org = after.get_model("directory", "Org").objects.get(pk=acme.pk)
    org.deprovision = "delete"
    org.save()
    org.access_groups.set([a.pk, b.pk])

    back = _migrate(BEFORE)
    directory = back.get_model("directory", "ScimDirectory").objects.get(org_id=acme.pk)
    assert directory.deprovision == "delete"
    assert sorted(directory.access_groups.values_list("display_name", flat=True)) == ["A", "B"]
    assert _marks(back, acme) == {"a": "", "b": "", "c": "NOT_IN_ACCESS_GROUPS"}
