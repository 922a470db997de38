from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from directory import request_log
from directory.models import Org, ScimDirectory, ScimRequest
from tests.scim.conftest import ScimClient, okta_user


@pytest.fixture
def logged(directory: ScimDirectory, token: str) -> ScimDirectory:
    scim = ScimClient(directory, token, user_agent="Okta SCIM Client 1.0.0")
    assert (
        scim.post("/Users", okta_user("ada@acme.example") | {"password": "hunter2"}).status_code
        == 201
    )
    assert scim.post("/Users", okta_user("ada@acme.example")).status_code == 409
    assert scim.get("/Users").status_code == 200
    assert Client().get(f"/scim/v2/{directory.id}/Users").status_code == 401
    return directory


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_scim_panel_links_to_the_provisioning_log(admin: User, logged: ScimDirectory) -> None:
    page = _client(admin).get("/o/acme/settings/").content.decode()
    assert 'href="/o/acme/settings/scim/requests/"' in page


def test_the_log_lists_every_request_newest_first(admin: User, logged: ScimDirectory) -> None:
    r = _client(admin).get("/o/acme/settings/scim/requests/")
    assert r.status_code == 200
    rows = list(r.context["page"])
    assert [row.status for row in rows] == [401, 200, 409, 201]
    page = r.content.decode()
    assert "Authentication required" in page and "uniqueness" in page and "Okta" in page


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        ("status=2xx", [200, 201]),
        ("status=4xx", [401, 409]),
        ("status=5xx", []),
        ("method=POST", [409, 201]),
        ("status=4xx&method=POST", [409]),
        ("from=2000-01-01T00:00&to=2000-01-02T00:00", []),
        ("status=nonsense", [401, 200, 409, 201]),
    ],
)
def test_the_log_is_filtered_by_status_class_method_and_time(
    admin: User, logged: ScimDirectory, query: str, statuses: list[int]
) -> None:
    r = _client(admin).get(f"/o/acme/settings/scim/requests/?{query}")
    assert [row.status for row in r.context["page"]] == statuses


def test_a_request_shows_its_masked_bodies_pretty_printed(
    admin: User, logged: ScimDirectory
) -> None:
    row = ScimRequest.objects.get(status=201)
    r = _client(admin).get(f"/o/acme/settings/scim/requests/{row.id}/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "hunter2" not in page and "&quot;password&quot;: &quot;***&quot;" in page
    assert "\n  &quot;userName&quot;: &quot;ada@acme.example&quot;" in page
    assert "Okta SCIM Client 1.0.0" in page and "Okta" in page


def test_another_orgs_admin_sees_nothing(
    other_admin: User, admin: User, logged: ScimDirectory, other_org: Org
) -> None:
    client = _client(other_admin)
    row = ScimRequest.objects.filter(org__slug="acme").first()
    assert row is not None
    assert client.get("/o/acme/settings/scim/requests/").status_code == 404
    assert client.get(f"/o/acme/settings/scim/requests/{row.id}/").status_code == 404
    # Nor through their own org's pages.
    assert client.get(f"/o/globex/settings/scim/requests/{row.id}/").status_code == 404
    assert list(client.get("/o/globex/settings/scim/requests/").context["page"]) == []


def test_an_unknown_or_malformed_id_is_a_404(admin: User, logged: ScimDirectory) -> None:
    client = _client(admin)
    assert client.get(f"/o/acme/settings/scim/requests/{uuid.uuid4()}/").status_code == 404
    assert client.get("/o/acme/settings/scim/requests/nope/").status_code == 404


def test_the_log_needs_a_sign_in(logged: ScimDirectory) -> None:
    r = Client().get("/o/acme/settings/scim/requests/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_the_scim_panel_shows_the_connections_health(
    admin: User, directory: ScimDirectory, token: str, settings: Any
) -> None:
    scim = ScimClient(directory, token, user_agent="Okta SCIM Client 1.0.0")
    page = _client(admin).get("/o/acme/settings/").content.decode()
    assert "Connection health" in page and "none yet" in page
    with time_machine.travel(datetime(2026, 11, 30, 9, 0, tzinfo=UTC), tick=False):
        assert scim.get("/Users").status_code == 200  # a day and more ago: in neither rate
    with time_machine.travel(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), tick=False):
        assert scim.get("/Users").status_code == 200
        assert scim.post("/Users", okta_user("ada@acme.example")).status_code == 201
    with time_machine.travel(datetime(2026, 12, 1, 9, 50, tzinfo=UTC), tick=False):
        assert scim.get("/Users").status_code == 200
    with time_machine.travel(datetime(2026, 12, 1, 9, 51, tzinfo=UTC), tick=False):
        assert Client().get(f"/scim/v2/{directory.id}/Users").status_code == 401
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), tick=False):
        health = request_log.scim_health(org=directory.org)
        page = _client(admin).get("/o/acme/settings/").content.decode()
    assert health.hour == (2, 1) and health.day == (4, 1)
    assert health.last_request == health.last_failure and health.last_failure is not None
    assert health.last_success is not None and health.last_success.status == 200
    assert "50 % (1 of 2 requests)" in page and "25 % (1 of 4 requests)" in page
    assert "2026-12-01 09:51:00 UTC" in page and "Authentication required" in page
    assert f"/o/acme/settings/scim/requests/{health.last_failure.id}/" in page
    assert "Okta SCIM Client 1.0.0" in page


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        ("resource=Users", [401, 200, 409, 201]),
        ("resource=Groups", [403]),
        ("resource=other", [200]),
        ("idp=okta", [403, 200, 409, 201]),
        ("idp=entra", [200]),
        ("idp=other", [401]),
        ("resource_id=not-a-uuid", []),
    ],
)
def test_the_log_is_filtered_by_resource_and_idp(
    admin: User, logged: ScimDirectory, token: str, query: str, statuses: list[int]
) -> None:
    entra = ScimClient(logged, token, user_agent="Azure AD SCIM Provisioning")
    assert entra.get("/ServiceProviderConfig").status_code == 200
    okta = ScimClient(logged, token, user_agent="Okta SCIM Client 1.0.0")
    assert okta.delete("/Groups").status_code in (403, 405)
    r = _client(admin).get(f"/o/acme/settings/scim/requests/?{query}")
    got = [row.status for row in r.context["page"]]
    assert [s if s != 405 else 403 for s in got] == statuses


def test_a_users_requests_and_events_link_both_ways(
    admin: User, logged: ScimDirectory, token: str
) -> None:
    scim = ScimClient(logged, token, user_agent="Okta SCIM Client 1.0.0")
    user_id = logged.org.users.get().id
    r = scim.patch_ops(f"/Users/{user_id}", {"op": "replace", "path": "title", "value": "CTO"})
    assert r.status_code == 200
    client = _client(admin)
    # The user's page links to the requests about them, which are the POST and PATCH.
    user_page = client.get(f"/o/acme/users/{user_id}/").content.decode()
    assert f"/o/acme/settings/scim/requests/?resource_id={user_id}" in user_page
    about = client.get(f"/o/acme/settings/scim/requests/?resource_id={user_id}")
    assert [row.method for row in about.context["page"]] == ["PATCH", "POST"]
    # The PATCH's page names the user and the event it caused, linked back to it.
    patch = ScimRequest.objects.get(method="PATCH")
    page = client.get(f"/o/acme/settings/scim/requests/{patch.id}/").content.decode()
    assert f'href="/o/acme/users/{user_id}/"' in page and "ada@acme.example" in page
    assert "changed title" in page.lower()
    events = client.get("/o/acme/events/").content.decode()
    assert f'href="/o/acme/settings/scim/requests/{patch.id}/"' in events


def test_a_failed_events_request_is_linked_until_the_log_prunes_it(
    admin: User, logged: ScimDirectory
) -> None:
    failure = logged.org.events.get(outcome="failure")
    row = ScimRequest.objects.get(status=409)
    assert failure.request_id == row.id
    client = _client(admin)
    assert (
        f"/o/acme/settings/scim/requests/{row.id}/"
        in client.get("/o/acme/events/").content.decode()
    )
    row.delete()
    assert (
        f"/o/acme/settings/scim/requests/{row.id}/"
        not in client.get("/o/acme/events/").content.decode()
    )


def test_the_admin_sets_how_long_the_log_keeps_requests_and_what_it_masks(
    admin: User, logged: ScimDirectory, token: str
) -> None:
    client = _client(admin)
    r = client.post(
        "/o/acme/settings/request-log/", {"retention_days": "7", "masks_personal_data": "on"}
    )
    assert r.status_code == 302
    org = Org.objects.get(slug="acme")
    assert org.request_log_retention_days == 7 and org.request_log_masks_personal_data
    assert org.audit_events.filter(action="org.request_log").exists()
    scim = ScimClient(logged, token, user_agent="Okta SCIM Client 1.0.0")
    scim.get("/Users", {"filter": 'userName eq "bob@acme.example"'})
    assert "bob@acme.example" not in ScimRequest.objects.get(query__contains="filter").query
    page = client.get("/o/acme/settings/scim/requests/").content.decode()
    assert "Kept 7 days" in page and "names, emails, phone numbers and addresses" in page
    for bad in ("0", "366", "x"):
        r = client.post("/o/acme/settings/request-log/", {"retention_days": bad}, follow=True)
        assert "Keep requests for 1 to 365 days." in r.content.decode()
    assert Org.objects.get(slug="acme").request_log_retention_days == 7


def test_another_orgs_admin_cannot_change_the_log_settings(other_admin: User, org: Org) -> None:
    r = _client(other_admin).post("/o/acme/settings/request-log/", {"retention_days": "1"})
    assert r.status_code == 404
    assert Org.objects.get(pk=org.pk).request_log_retention_days == 30


def test_the_panel_warns_when_entra_is_overdue_or_throttled_often(
    admin: User, directory: ScimDirectory, token: str, settings: Any
) -> None:
    entra = ScimClient(directory, token, user_agent="Azure AD SCIM Provisioning")
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        assert entra.get("/Users").status_code == 200
    with time_machine.travel(datetime(2026, 12, 1, 9, 30, tzinfo=UTC), tick=False):
        page = _client(admin).get("/o/acme/settings/").content.decode()
    assert 'id="health-entra-overdue"' not in page  # within its 40-minute cycle
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), tick=False):
        page = _client(admin).get("/o/acme/settings/").content.decode()
    assert 'id="health-entra-overdue"' in page
    assert "has not called for 1 hour" in page.replace("\xa0", " ")
    assert 'id="health-throttled"' not in page
    settings.SCIM_RATE_PER_TOKEN = 1
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC), tick=False):
        for _ in range(4):
            entra.get("/Users")
        page = _client(admin).get("/o/acme/settings/").content.decode()
    assert 'id="health-throttled"' in page and "3 of the last hour's 4 requests" in page


def test_okta_is_never_overdue(admin: User, directory: ScimDirectory, token: str) -> None:
    okta = ScimClient(directory, token, user_agent="Okta SCIM Client 1.0.0")
    with time_machine.travel(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), tick=False):
        assert okta.get("/Users").status_code == 200
    page = _client(admin).get("/o/acme/settings/").content.decode()
    assert 'id="health-entra-overdue"' not in page and "Okta SCIM Client 1.0.0" in page
