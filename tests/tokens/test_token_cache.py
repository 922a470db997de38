"""A cached token forgets its directory and org as soon as either changes, whoever changes
them: the services (here without their own eviction calls), the Django admin, a cascade."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from directory.models import Org, ScimDirectory
from directory.services import (
    UserFields,
    group_create,
    group_delete,
    org_access_groups_set,
    org_deprovision_set,
    org_update,
    scim_directory_delete,
    scim_disable,
    scim_name_rule_set,
    user_create,
)
from tests.actors import OPERATOR
from tests.scim.conftest import ScimClient, assert_scim_error
from tokens.auth import token_authenticate
from tokens.models import ScimToken


@pytest.fixture
def shared_cache(settings: Any) -> None:
    # The token cache is on whenever a shared cache (Redis) is configured; the test
    # cache stands in for it.
    settings.REDIS_URL = settings.REDIS_URL or "redis://127.0.0.1:1/0"


def _cached(token: str) -> ScimToken:
    found = token_authenticate(token)
    assert found is not None
    assert token_authenticate(token, database=False) is not None  # it is in the cache
    return found


pytestmark = pytest.mark.usefixtures("shared_cache")


def test_disabling_the_directory_drops_its_cached_tokens(
    directory: ScimDirectory, token: str
) -> None:
    _cached(token)
    scim_disable(org=directory.org, actor=OPERATOR)
    assert token_authenticate(token) is None
    assert token_authenticate(token, database=False) is None


def test_deleting_the_directory_drops_its_cached_tokens(
    directory: ScimDirectory, token: str
) -> None:
    _cached(token)
    scim_directory_delete(org=directory.org, actor=OPERATOR)
    assert token_authenticate(token, database=False) is None
    assert token_authenticate(token) is None


def test_policy_and_name_rule_changes_reach_the_next_request(
    directory: ScimDirectory, token: str
) -> None:
    assert _cached(token).directory.org.deprovision == "disable"
    org_deprovision_set(org=directory.org, deprovision="delete", actor=OPERATOR)
    assert _cached(token).directory.org.deprovision == "delete"
    scim_name_rule_set(org=directory.org, enabled=True, actor=OPERATOR)
    assert _cached(token).directory.reject_special_characters is True


def test_access_group_changes_reach_the_next_request(directory: ScimDirectory, token: str) -> None:
    org = directory.org
    engineering = group_create(org=org, display_name="Engineering", actor=OPERATOR)
    sales = group_create(org=org, display_name="Sales", actor=OPERATOR)
    assert _cached(token).directory.access_group_ids == []
    org_access_groups_set(org=org, names=["Engineering", "Sales"], actor=OPERATOR)
    assert set(_cached(token).directory.access_group_ids) == {engineering.id, sales.id}
    org_access_groups_set(org=org, names=["Sales"], actor=OPERATOR)
    assert _cached(token).directory.access_group_ids == [sales.id]
    group_delete(
        group=sales, actor=OPERATOR
    )  # an access group deleted: the restriction goes with it
    assert _cached(token).directory.access_group_ids == []


def test_an_org_change_reaches_the_next_request(directory: ScimDirectory, token: str) -> None:
    assert _cached(token).directory.org.name == "Acme Corp"
    org_update(org=directory.org, name="Acme Inc")
    assert _cached(token).directory.org.name == "Acme Inc"


def test_deleting_the_org_drops_its_cached_tokens(directory: ScimDirectory, token: str) -> None:
    _cached(token)
    Org.objects.get(pk=directory.org_id).delete()
    assert token_authenticate(token, database=False) is None


def test_seats_taken_during_a_sync_keep_the_token_cached(
    directory: ScimDirectory, token: str, django_assert_num_queries: Any
) -> None:
    _cached(token)
    for n in range(3):
        user_create(
            org=directory.org, fields=UserFields(user_name=f"u{n}@acme.example"), actor=OPERATOR
        )
    assert directory.org.users.filter(has_seat=True).count() == 3
    with django_assert_num_queries(0):
        assert token_authenticate(token) is not None


def test_another_orgs_change_keeps_this_orgs_token_cached(
    directory: ScimDirectory, token: str, other_directory: ScimDirectory, other_token: str
) -> None:
    _cached(token)
    _cached(other_token)
    org_deprovision_set(org=other_directory.org, deprovision="delete", actor=OPERATOR)
    assert token_authenticate(token, database=False) is not None
    assert token_authenticate(other_token, database=False) is None


# The Django admin: an operator's edit applies to the very next SCIM request, on Redis as
# in production (where a token's requests read it from the cache in scim.throttle).


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@example.com", "ops@example.com", "x"))
    return client


def _saved(response: Any) -> None:
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_a_rate_limit_edited_in_the_admin_applies_at_once(
    redis_cache: None, operator: Client, directory: ScimDirectory, token: str, settings: Any
) -> None:
    settings.SCIM_RATE_PER_ORG = 1000
    scim = ScimClient(directory, token)
    org = directory.org
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        for _ in range(3):
            assert scim.get("/Users").status_code == 200
        form = _org_form(org, scim_rate_limit=1)
        _saved(operator.post(f"/admin/directory/org/{org.pk}/change/", form))
    with time_machine.travel("2026-11-24 10:00:01+00:00", tick=False):
        assert scim.get("/Users").status_code == 200
        assert_scim_error(scim.get("/Users"), 429)


def _directory_form(directory: ScimDirectory, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "org": directory.org_id,
        "deleted_at_0": "",
        "deleted_at_1": "",
    }
    if directory.enabled:
        form["enabled"] = "on"
    return form | changes


def test_a_directory_disabled_in_the_admin_refuses_the_next_request(
    redis_cache: None, operator: Client, directory: ScimDirectory, token: str
) -> None:
    scim = ScimClient(directory, token)
    assert scim.get("/Users").status_code == 200
    form = _directory_form(directory)
    del form["enabled"]
    _saved(operator.post(f"/admin/directory/scimdirectory/{directory.pk}/change/", form))
    assert_scim_error(scim.get("/Users"), 401)


def _org_form(org: Org, **changes: Any) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "seats": org.seats,
        "scim_rate_limit": "",
        "deprovision": org.deprovision,
        "access_groups": [str(pk) for pk in org.access_groups.values_list("pk", flat=True)],
        "admins-TOTAL_FORMS": 0,
        "admins-INITIAL_FORMS": 0,
        "admins-MIN_NUM_FORMS": 0,
        "admins-MAX_NUM_FORMS": 1000,
    } | changes


def test_access_groups_edited_in_the_admin_reach_the_next_request(
    redis_cache: None, operator: Client, directory: ScimDirectory, token: str
) -> None:
    org = directory.org
    engineering = group_create(org=org, display_name="Engineering", actor=OPERATOR)
    assert _cached(token).directory.access_group_ids == []
    form = _org_form(org, access_groups=[str(engineering.pk)])
    _saved(operator.post(f"/admin/directory/org/{org.pk}/change/", form))
    assert _cached(token).directory.access_group_ids == [engineering.pk]
    _saved(operator.post(f"/admin/directory/org/{org.pk}/change/", form | {"access_groups": []}))
    assert _cached(token).directory.access_group_ids == []
