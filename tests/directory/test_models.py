"""The database itself enforces the uniqueness rules, whatever code writes to it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from directory.models import EndUser, Group, Membership, Org, ScimDirectory
from directory.selectors import org_for_admin, org_list_for_admin, scim_directory_get
from directory.services import scim_directory_delete
from tests.actors import OPERATOR


def test_usernames_are_unique_per_org_case_insensitively(org: Org) -> None:
    EndUser.objects.create(org=org, user_name="Alice@x.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        EndUser.objects.create(org=org, user_name="alice@X.COM")


def test_the_same_username_may_live_in_two_orgs(org: Org, other_org: Org) -> None:
    EndUser.objects.create(org=org, user_name="alice@x.com")
    EndUser.objects.create(org=other_org, user_name="alice@x.com")
    assert EndUser.objects.count() == 2


def test_group_names_are_unique_per_org_case_insensitively(org: Org, other_org: Org) -> None:
    Group.objects.create(org=org, display_name="Engineering")
    Group.objects.create(org=other_org, display_name="engineering")
    with pytest.raises(IntegrityError), transaction.atomic():
        Group.objects.create(org=org, display_name="ENGINEERING")


def test_a_membership_exists_once(org: Org) -> None:
    user = EndUser.objects.create(org=org, user_name="a")
    group = Group.objects.create(org=org, display_name="G")
    Membership.objects.create(group=group, user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(group=group, user=user)


def test_an_org_has_one_live_scim_directory(org: Org, directory: ScimDirectory) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ScimDirectory.objects.create(org=org)


def test_selectors_never_cross_orgs(
    org: Org,
    other_org: Org,
    admin: User,
    directory: ScimDirectory,
    other_directory: ScimDirectory,
) -> None:
    assert list(org_list_for_admin(user=admin)) == [org]
    assert scim_directory_get(org=org) == directory
    assert scim_directory_get(org=other_org) == other_directory


def test_an_admin_lists_only_the_orgs_they_administer(
    org: Org, other_org: Org, admin: User, other_admin: User
) -> None:
    assert list(org_list_for_admin(user=admin)) == [org]
    assert list(org_list_for_admin(user=other_admin)) == [other_org]
    assert org_for_admin(user=admin, slug="globex") is None
    assert org_for_admin(user=admin, slug="acme") == org


def test_an_org_without_scim_never_gets_another_orgs_directory(
    org: Org, other_org: Org, other_directory: ScimDirectory
) -> None:
    assert scim_directory_get(org=org) is None
    assert scim_directory_get(org=other_org) == other_directory


def test_a_deleted_directory_is_not_returned_and_a_new_one_may_be_made(
    org: Org, directory: ScimDirectory
) -> None:
    scim_directory_delete(org=org, actor=OPERATOR)
    assert scim_directory_get(org=org) is None
    fresh = ScimDirectory.objects.create(org=org)
    assert scim_directory_get(org=org) == fresh != directory


@pytest.mark.django_db
def test_postgres_gets_trigram_search_indexes_and_frequent_analyze_sqlite_neither() -> None:
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "directory_enduser")
    search = {name for name in indexes if name.startswith(("enduser_prefix_", "enduser_trgm_"))}
    if connection.vendor != "postgresql":
        assert search == set()  # migrations 0005, 0006 and 0019 are Postgres-only
        return
    # 0019's trigram indexes (substring search) replaced 0005's prefix ones.
    assert search == {
        "enduser_trgm_username",
        "enduser_trgm_displayname",
        "enduser_trgm_givenname",
        "enduser_trgm_familyname",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [["directory_enduser", "directory_useremail", "directory_membership"]],
        )
        options = dict(cursor.fetchall())
    for table in ("directory_enduser", "directory_useremail", "directory_membership"):
        assert "autovacuum_analyze_threshold=5000" in options[table], table


def test_users_and_events_have_no_index_on_org_alone_but_orgs_still_index_their_rows(
    org: Org,
) -> None:
    # Migration 0008: each table's (org, ...) indexes serve org_id, one write less per row.
    for table in ("directory_enduser", "directory_provisioningevent"):
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        indexed = [c["columns"] for c in constraints.values() if c["index"]]
        assert ["org_id"] not in indexed, table
        assert any(columns and columns[0] == "org_id" for columns in indexed), table
        foreign = [c["foreign_key"] for c in constraints.values() if c["columns"] == ["org_id"]]
        assert ("directory_org", "id") in foreign, table  # the foreign key itself stays
