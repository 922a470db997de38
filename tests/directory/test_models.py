"""The database itself enforces the uniqueness rules, whatever code writes to it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from directory.models import EndUser, Group, Membership, Org, ScimDirectory
from directory.selectors import org_list_for_admin, scim_directory_get


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
    admin: object,
    directory: ScimDirectory,
    other_directory: ScimDirectory,
) -> None:
    assert list(org_list_for_admin(user=admin)) == [org]  # type: ignore[arg-type]
    assert scim_directory_get(org=org) == directory
    assert scim_directory_get(org=other_org) == other_directory
