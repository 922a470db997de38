"""The Users and Groups tables for real work: sorting, page jump and size, thousands
separators, the seat-shortage banner, bulk actions on a selection and the CSV export of
the current filter, each scoped to the admin's org."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from directory.models import AuditEvent, EndUser, Group, Org, Source
from directory.services import UserFields, group_create, user_create
from tests.actors import OPERATOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def intruder(other_admin: User) -> Client:
    client = Client()
    client.force_login(other_admin)
    return client


def _people(org: Org, n: int, **extra: object) -> list[EndUser]:
    now = timezone.now()
    users = EndUser.objects.bulk_create(
        [
            EndUser(
                org=org,
                user_name=f"p{i:05d}@acme.example",
                family_name=f"F{(n - i):05d}",
                **extra,
            )
            for i in range(n)
        ]
    )
    for i, u in enumerate(users):  # distinct creation times, oldest first
        EndUser.objects.filter(pk=u.pk).update(created_at=now - timedelta(minutes=n - i))
    return users


def _listed(client: Client, query: str) -> list[str]:
    page = client.get(f"/o/acme/users/?{query}").content.decode()
    return re.findall(r'/users/[0-9a-f-]{36}/">([^<]+)@acme\.example</a>', page)


def test_columns_sort_both_ways_and_the_header_says_which(console: Client, org: Org) -> None:
    _people(org, 3)
    EndUser.objects.filter(user_name="p00001@acme.example").update(last_signin_at=timezone.now())

    assert _listed(console, "") == ["p00002", "p00001", "p00000"]  # newest first
    assert _listed(console, "sort=user") == ["p00000", "p00001", "p00002"]
    assert _listed(console, "sort=-user") == ["p00002", "p00001", "p00000"]
    assert _listed(console, "sort=name") == ["p00002", "p00001", "p00000"]  # by family name
    assert _listed(console, "sort=-signin")[0] == "p00001"  # never signed in: last
    assert _listed(console, "sort=signin")[-1] == "p00001"
    assert _listed(console, "sort=nonsense") == ["p00002", "p00001", "p00000"]
    page = console.get("/o/acme/users/?sort=user&q=acme").content.decode()
    assert 'aria-sort="ascending"><a href="?sort=-user&amp;q=acme"' in page
    assert '<a href="?sort=name&amp;q=acme" title="Sort by name">Name</a>' in page


def test_pages_jump_to_the_last_and_to_a_number_in_the_size_chosen(
    console: Client, org: Org
) -> None:
    _people(org, 1234)

    first = console.get("/o/acme/users/?sort=user").content.decode()
    assert "1,234 in all" in first
    assert 'max="25" value="1"' in first  # 50 a page
    assert len(_listed(console, "sort=user")) == 50
    assert _listed(console, "sort=user&page=last") == [f"p{i:05d}" for i in range(1200, 1234)]
    assert _listed(console, "sort=user&page=3")[0] == "p00100"
    assert _listed(console, "sort=user&page=999")[0] == "p01200"  # past the end: the last
    assert len(_listed(console, "sort=user&per_page=500")) == 500
    assert len(_listed(console, "sort=user&per_page=100&page=last")) == 34
    assert len(_listed(console, "sort=user&per_page=100000")) == 50  # not a choice
    jump = console.get("/o/acme/users/?sort=user&per_page=100&page=2").content.decode()
    # The jump keeps the filters and the size, and changes only the page.
    assert '<input type="hidden" name="sort" value="user">' in jump
    assert '<input type="hidden" name="per_page" value="100">' in jump
    assert 'max="13" value="2"' in jump


def test_numbers_have_thousands_separators_and_a_seat_shortage_shows_a_banner(
    console: Client, org: Org
) -> None:
    Org.objects.filter(pk=org.pk).update(seats=25_000, seats_used=25_000)
    _people(org, 1200, active=True, has_seat=False)

    page = console.get("/o/acme/users/").content.decode()
    assert "25,000 of 25,000 seats used" in page
    assert "1,200 active users are waiting for a seat" in page
    assert 'href="/o/acme/users/?seat=none">Show the users without a seat</a>' in page

    Org.objects.filter(pk=org.pk).update(seats_used=24_999)  # one seat free: no shortage
    assert "waiting for a seat" not in console.get("/o/acme/users/").content.decode()


def test_an_empty_directory_points_to_scim_and_an_empty_search_to_every_user(
    console: Client, org: Org
) -> None:
    empty = console.get("/o/acme/users/").content.decode()
    assert 'href="/o/acme/settings/#scim-title">Set up SCIM provisioning</a>' in empty
    _people(org, 1)
    none = console.get("/o/acme/users/?q=nobody").content.decode()
    assert 'No users match these filters. <a href="/o/acme/users/">Show every user</a>' in none


def test_bulk_actions_go_through_the_seat_and_delete_rules(
    console: Client, org: Org, other_org: Org
) -> None:
    manual = [
        user_create(org=org, fields=UserFields(user_name=f"m{i}@acme.example"), actor=OPERATOR)
        for i in range(3)
    ]
    scim = user_create(
        org=org, fields=UserFields(user_name="idp@acme.example"), source=Source.SCIM,
        actor=OPERATOR,
    )  # fmt: skip
    theirs = user_create(
        org=other_org, fields=UserFields(user_name="x@globex.example"), actor=OPERATOR
    )
    EndUser.objects.filter(org=org).update(has_seat=False)
    Org.objects.filter(pk=org.pk).update(seats=2, seats_used=0)
    ids = [str(u.id) for u in [*manual, scim]]

    r = console.post(
        "/o/acme/users/bulk/", {"action": "seat-assign", "id": ids, "back": "sort=user"}
    )
    assert r.status_code == 302 and r["Location"] == "/o/acme/users/?sort=user"
    assert EndUser.objects.filter(org=org, has_seat=True).count() == 2  # only 2 seats
    messages = [str(m) for m in r.wsgi_request._messages]  # type: ignore[attr-defined]
    assert messages[0] == "2 users got a seat."
    assert messages[1].startswith("2 left as they were: m2@acme.example: All 2 seats")

    console.post("/o/acme/users/bulk/", {"action": "seat-revoke", "id": ids})
    assert EndUser.objects.filter(org=org, has_seat=True).count() == 0
    assert Org.objects.get(pk=org.pk).seats_used == 0

    r = console.post(
        "/o/acme/users/bulk/", {"action": "delete", "id": [*ids, str(theirs.id), "junk"]}
    )
    assert set(EndUser.objects.filter(org=org).values_list("user_name", flat=True)) == {
        "idp@acme.example"  # added by the IdP: left to it
    }
    assert EndUser.objects.filter(pk=theirs.pk).exists()  # another org's id: untouched
    audit = AuditEvent.objects.filter(org=org, action="user.delete")
    assert audit.count() == 3 and {a.via for a in audit} == {"console"}


def test_another_orgs_admin_can_neither_act_on_nor_export_the_users(
    console: Client, intruder: Client, org: Org
) -> None:
    users = _people(org, 2, has_seat=False, active=True)
    ids = [str(u.id) for u in users]
    assert intruder.post("/o/acme/users/bulk/", {"action": "delete", "id": ids}).status_code == 404
    assert intruder.get("/o/acme/users/export.csv").status_code == 404
    assert intruder.get("/o/acme/groups/export.csv").status_code == 404
    assert EndUser.objects.filter(org=org).count() == 2
    # Their own org's bulk form with our ids: nothing of ours changes.
    intruder.post("/o/globex/users/bulk/", {"action": "delete", "id": ids})
    assert EndUser.objects.filter(org=org).count() == 2


def _csv(response: StreamingHttpResponse) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(body)))


def test_the_export_streams_the_current_filter_as_csv(
    console: Client, org: Org, other_org: Org
) -> None:
    user_create(
        org=org,
        fields=UserFields(
            user_name="ada@acme.example",
            given_name="Ada",
            family_name='=HYPERLINK("http://evil.example")',
            emails=[
                {"value": "ada@home.example", "type": "home"},
                {"value": "ada@acme.example", "type": "work", "primary": True},
            ],
        ),
        actor=OPERATOR,
    )
    user_create(org=org, fields=UserFields(user_name="bob@acme.example"), actor=OPERATOR)
    user_create(org=other_org, fields=UserFields(user_name="ada@globex.example"), actor=OPERATOR)

    r = console.get("/o/acme/users/export.csv?q=ada&sort=user")
    assert isinstance(r, StreamingHttpResponse)
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == 'attachment; filename="acme-users.csv"'
    rows = _csv(r)
    assert [row["userName"] for row in rows] == ["ada@acme.example"]
    assert rows[0]["email"] == "ada@acme.example"  # the primary one
    assert rows[0]["familyName"] == '\'=HYPERLINK("http://evil.example")'  # not a formula
    assert rows[0]["active"] == "true" and rows[0]["seat"] == "true"
    assert len(_csv(console.get("/o/acme/users/export.csv"))) == 2
    audit = AuditEvent.objects.get(org=org, action="users.export", target="q=ada")
    assert audit.actor == "alice@acme.example"

    selected = console.post(
        "/o/acme/users/bulk/",
        {"action": "export", "id": [str(EndUser.objects.get(user_name="bob@acme.example").id)]},
    )
    assert [row["userName"] for row in _csv(selected)] == ["bob@acme.example"]


def test_groups_sort_page_and_export(console: Client, org: Org) -> None:
    ada = user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    group_create(org=org, display_name="Beta", member_ids=[str(ada.id)], actor=OPERATOR)
    Group.objects.bulk_create([Group(org=org, display_name=f"Alpha {i:03d}") for i in range(120)])

    def names(query: str) -> list[str]:
        page = console.get(f"/o/acme/groups/?{query}").content.decode()
        return re.findall(r'/groups/[0-9a-f-]{36}/">([^<]+)</a>', page)

    assert names("")[0] == "Alpha 000" and "121 in all" in console.get("/o/acme/groups/").text
    assert names("sort=-name")[0] == "Beta"
    assert names("sort=-members")[0] == "Beta"
    assert names("page=last") == ["Alpha 100", *[f"Alpha {i}" for i in range(101, 120)], "Beta"]
    assert names("q=pha 11") == [f"Alpha {i}" for i in range(110, 120)]  # any part
    rows = _csv(console.get("/o/acme/groups/export.csv?q=beta"))  # type: ignore[arg-type]
    assert [(r["displayName"], r["members"]) for r in rows] == [("Beta", "1")]
