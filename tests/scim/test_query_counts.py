"""A SCIM request costs a handful of queries, whatever the size of the org."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import EndUser, Org
from directory.services import UserFields, group_create, user_create
from tests.actors import OPERATOR
from tests.scim.conftest import ScimClient, okta_user


def _fill(org: Org, n: int) -> list[str]:
    ids = [
        str(
            user_create(
                org=org,
                fields=UserFields(
                    user_name=f"bulk{i}@acme.example",
                    emails=[{"value": f"bulk{i}@acme.example", "type": "work", "primary": True}],
                ),
                actor=OPERATOR,
            ).id
        )
        for i in range(n)
    ]
    group_create(org=org, display_name="Everyone", member_ids=ids, actor=OPERATOR)
    group_create(org=org, display_name="Half", member_ids=ids[::2], actor=OPERATOR)
    return ids


def test_a_username_lookup_costs_the_same_in_a_small_and_a_bigger_org(
    scim: ScimClient,
    org: Org,
    django_assert_num_queries: Any,
    django_assert_max_num_queries: Any,
) -> None:
    _fill(org, 5)
    url = '/Users?filter=userName eq "bulk3@acme.example"&startIndex=1&count=100'
    scim.get(url)  # the token's last-used time is written once a minute
    # token (none when Redis caches it), page, the page's groups; a first page that is
    # not full needs no COUNT; the provisioning log's INSERT
    with django_assert_max_num_queries(4) as small:
        assert scim.get(url).json()["totalResults"] == 1
    _fill_more = [f"more{i}" for i in range(30)]
    for name in _fill_more:
        user_create(org=org, fields=UserFields(user_name=f"{name}@acme.example"), actor=OPERATOR)
    with django_assert_num_queries(len(small.captured_queries)):
        assert scim.get(url).json()["totalResults"] == 1


def test_username_lookups_in_an_org_the_statistics_have_not_seen_read_the_unique_index(
    scim: ScimClient, org: Org, other_org: Org
) -> None:
    # As when a new org starts its first sync: the planner's statistics know the other
    # orgs only and put this org at one row, so every index that leads with org_id
    # looks as cheap as the right one. Which it took depended on index sizes; in the
    # benchmark it was (org, lower(familyName)), filtering all of the org's users on
    # each lookup. The lookups now leave the org to a filter and read the unique index.
    EndUser.objects.bulk_create(
        EndUser(org=other_org, user_name=f"them{i}@other.example") for i in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_enduser")
    EndUser.objects.bulk_create(
        EndUser(org=org, user_name=f"bulk{i}@acme.example") for i in range(2000)
    )
    with CaptureQueriesContext(connection) as run:
        assert (
            scim.get('/Users?filter=userName eq "Bulk1500@acme.example"').json()["totalResults"]
            == 1
        )
        assert scim.post("/Users", okta_user("new@acme.example")).status_code == 201
    # The IdP's lookup; the create leaves uniqueness to the unique index its INSERT hits.
    by_name = [
        q["sql"]
        for q in run.captured_queries
        if 'FROM "directory_enduser"' in q["sql"]
        and '"directory_enduser"."user_name_key" =' in q["sql"]
    ]
    assert len(by_name) == 1
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    for sql in by_name:
        with connection.cursor() as cursor:
            cursor.execute(explain + sql)
            plan = " ".join(str(col) for row in cursor.fetchall() for col in row)
        assert "enduser_unique_username_key" in plan, plan


def test_a_page_of_users_with_groups_costs_four_queries(
    scim: ScimClient, org: Org, django_assert_max_num_queries: Any
) -> None:
    _fill(org, 40)
    scim.get("/Users?count=1")
    # token, page, groups of the page (+ COUNT when the page is full)
    with django_assert_max_num_queries(4):
        doc = scim.get("/Users?startIndex=1&count=100").json()
    assert doc["itemsPerPage"] == 40
    assert all(len(u["groups"]) >= 1 for u in doc["Resources"])


def test_adding_many_members_is_a_bounded_number_of_statements(
    scim: ScimClient, org: Org, django_assert_max_num_queries: Any
) -> None:
    ids = _fill(org, 60)
    group = scim.post("/Groups", {"displayName": "Big"}).json()
    with django_assert_max_num_queries(16):
        r = scim.patch_ops(
            f"/Groups/{group['id']}?excludedAttributes=members",
            {"op": "add", "path": "members", "value": [{"value": i} for i in ids]},
        )
    assert r.status_code == 200
    assert org.groups.get(display_name="Big").members.count() == 60


def test_creating_a_user_costs_a_handful_of_queries(
    scim: ScimClient, org: Org, django_assert_max_num_queries: Any
) -> None:
    scim.get("/Users?count=1")
    with django_assert_max_num_queries(12):
        assert scim.post("/Users", okta_user("q@acme.example")).status_code == 201
