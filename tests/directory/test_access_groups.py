from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.errors import InvalidValue
from directory.models import Org, ScimDirectory
from directory.services import (
    UserFields,
    group_create,
    group_delete,
    group_update,
    org_access_groups_set,
    org_deprovision_set,
    scim_directory_delete,
    scim_enable,
    user_create,
)
from tests.actors import OPERATOR


def _access(org: Org) -> dict[str, str]:
    return dict(org.users.values_list("user_name", "access"))


def test_users_outside_the_access_groups_are_marked_and_cleared_on_joining(
    org: Org, directory: ScimDirectory
) -> None:
    alice = user_create(org=org, fields=UserFields(user_name="alice"), actor=OPERATOR)
    bob = user_create(org=org, fields=UserFields(user_name="bob"), actor=OPERATOR)
    eng = group_create(
        org=org, display_name="Engineering", member_ids=[str(alice.id)], actor=OPERATOR
    )
    group_create(org=org, display_name="Sales", actor=OPERATOR)
    org_access_groups_set(org=org, names=["engineering", "Sales"], actor=OPERATOR)
    assert _access(org) == {"alice": "", "bob": "NOT_IN_ACCESS_GROUPS"}
    group_update(
        group=eng, member_ops=[("add", [str(bob.id)])], directory=directory, actor=OPERATOR
    )
    assert _access(org) == {"alice": "", "bob": ""}


def test_a_new_user_outside_the_access_groups_is_marked_at_once(
    org: Org, directory: ScimDirectory
) -> None:
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="carol"), directory=directory, actor=OPERATOR)
    assert _access(org) == {"carol": "NOT_IN_ACCESS_GROUPS"}


def test_lifting_the_restriction_clears_everyone(org: Org, directory: ScimDirectory) -> None:
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="dave"), directory=directory, actor=OPERATOR)
    org_access_groups_set(org=org, names=[], actor=OPERATOR)
    assert _access(org) == {"dave": ""}


def test_an_unknown_group_name_is_refused_and_nothing_changes(
    org: Org, directory: ScimDirectory
) -> None:
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    with pytest.raises(InvalidValue, match="Marketing"):
        org_access_groups_set(org=org, names=["Engineering", "Marketing"], actor=OPERATOR)
    assert org.access_groups.count() == 0


def test_leaving_an_access_group_marks_and_deleting_the_last_one_lifts_the_restriction(
    org: Org, directory: ScimDirectory
) -> None:
    erin = user_create(org=org, fields=UserFields(user_name="erin"), actor=OPERATOR)
    eng = group_create(
        org=org, display_name="Engineering", member_ids=[str(erin.id)], actor=OPERATOR
    )
    other = group_create(
        org=org, display_name="Book club", member_ids=[str(erin.id)], actor=OPERATOR
    )
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    group_update(group=other, member_ops=[("remove_all", [])], directory=directory, actor=OPERATOR)
    assert _access(org) == {"erin": ""}  # still in Engineering
    group_update(
        group=eng, member_ops=[("remove", [str(erin.id)])], directory=directory, actor=OPERATOR
    )
    assert _access(org) == {"erin": "NOT_IN_ACCESS_GROUPS"}
    group_delete(group=eng, directory=directory, actor=OPERATOR)
    assert _access(org) == {"erin": ""}


def test_members_of_a_group_that_grants_no_access_change_without_touching_other_users(
    org: Org, directory: ScimDirectory
) -> None:
    frank = user_create(org=org, fields=UserFields(user_name="frank"), actor=OPERATOR)
    club = group_create(org=org, display_name="Book club", actor=OPERATOR)
    with CaptureQueriesContext(connection) as queries:
        group_update(
            group=club, member_ops=[("add", [str(frank.id)])], directory=directory, actor=OPERATOR
        )
        group_delete(group=club, directory=directory, actor=OPERATOR)
    # An UPDATE of directory_enduser here would be a scan of every user of the org.
    assert not [q for q in queries if q["sql"].startswith('UPDATE "directory_enduser"')]


def test_the_access_groups_and_the_policy_are_the_orgs_and_outlive_its_directory(
    org: Org, directory: ScimDirectory
) -> None:
    ada = user_create(org=org, fields=UserFields(user_name="ada"), actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="bob"), actor=OPERATOR)
    group_create(org=org, display_name="A", member_ids=[str(ada.id)], actor=OPERATOR)
    group_create(org=org, display_name="B", actor=OPERATOR)
    org_access_groups_set(org=org, names=["A", "B"], actor=OPERATOR)
    org_deprovision_set(org=org, deprovision="delete", actor=OPERATOR)
    scim_directory_delete(org=org, actor=OPERATOR)
    org.refresh_from_db()
    assert sorted(org.access_groups.values_list("display_name", flat=True)) == ["A", "B"]
    assert org.deprovision == "delete"
    assert _access(org) == {"ada": "", "bob": "NOT_IN_ACCESS_GROUPS"}
    again = scim_enable(org=org, actor=OPERATOR)
    assert again.pk != directory.pk
    assert set(again.access_group_ids) == set(org.access_groups.values_list("id", flat=True))
    carol = user_create(
        org=org, fields=UserFields(user_name="carol"), directory=again, actor=OPERATOR
    )
    assert carol.access == "NOT_IN_ACCESS_GROUPS"


def test_access_groups_apply_to_an_org_without_a_scim_directory(org: Org) -> None:
    group_create(org=org, display_name="Engineering", actor=OPERATOR)
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    user_create(org=org, fields=UserFields(user_name="manual"), actor=OPERATOR)
    assert _access(org) == {"manual": "NOT_IN_ACCESS_GROUPS"}
    org_access_groups_set(org=org, names=[], actor=OPERATOR)
    assert _access(org) == {"manual": ""}
