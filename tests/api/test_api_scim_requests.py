from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from directory.models import ScimDirectory, ScimRequest
from tests.api.test_api import client_for
from tests.scim.conftest import ScimClient, okta_user


@pytest.fixture
def logged(directory: ScimDirectory, token: str) -> ScimDirectory:
    scim = ScimClient(directory, token, user_agent="Okta SCIM Client 1.0.0")
    for i in range(3):
        body = okta_user(f"u{i}@acme.example") | {"password": "hunter2"}
        assert scim.post("/Users", body).status_code == 201
    assert scim.get("/Users").status_code == 200
    assert Client().get(f"/scim/v2/{directory.id}/Users").status_code == 401
    return directory


def test_the_log_is_cursor_paginated_newest_first(admin: User, logged: ScimDirectory) -> None:
    api = client_for(admin)
    doc = api.get("/api/v1/orgs/acme/scim/requests/").json()
    assert [r["status"] for r in doc["results"]] == [401, 200, 201, 201, 201]
    assert "request_body" not in doc["results"][0]
    first = doc["results"][0]
    assert first["method"] == "GET" and first["detail"].startswith("Authentication required")


def test_the_log_pages_with_a_cursor(
    admin: User, logged: ScimDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commandcenter.api import views

    monkeypatch.setattr(views.EventPagination, "page_size", 2)
    api = client_for(admin)
    seen, url = [], "/api/v1/orgs/acme/scim/requests/"
    while url:
        doc = api.get(url).json()
        seen += [r["id"] for r in doc["results"]]
        url = doc["next"]
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        ("status=2xx", [200, 201, 201, 201]),
        ("status=4xx", [401]),
        ("method=post", [201, 201, 201]),
        ("from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z", []),
        ("resource=Users&idp=okta", [200, 201, 201, 201]),
        ("idp=other", [401]),
        ("resource=Groups", []),
        ("resource_id=nope", []),
    ],
)
def test_the_log_has_the_consoles_filters(
    admin: User, logged: ScimDirectory, query: str, statuses: list[int]
) -> None:
    doc = client_for(admin).get(f"/api/v1/orgs/acme/scim/requests/?{query}").json()
    assert [r["status"] for r in doc["results"]] == statuses


def test_one_request_has_its_masked_bodies(admin: User, logged: ScimDirectory) -> None:
    row = ScimRequest.objects.filter(status=201).first()
    assert row is not None
    doc = client_for(admin).get(f"/api/v1/orgs/acme/scim/requests/{row.id}/").json()
    assert doc["id"] == str(row.id) and doc["idp"] == "okta" and doc["token_name"] == "Okta"
    assert '"password":"***"' in doc["request_body"] and "hunter2" not in doc["request_body"]
    assert doc["response_body"].startswith("{")
    assert doc["resource_type"] == "User" and doc["resource_id"] == str(row.resource_id)
    (event,) = doc["events"]
    assert event["action"] == "user_create" and event["request_id"] == str(row.id)


def test_a_users_requests_are_found_by_its_id(admin: User, logged: ScimDirectory) -> None:
    user = logged.org.users.order_by("user_name").first()
    assert user is not None
    api = client_for(admin)
    doc = api.get(f"/api/v1/orgs/acme/scim/requests/?resource_id={user.id}").json()
    assert [(r["method"], r["status"]) for r in doc["results"]] == [("POST", 201)]
    events = api.get(f"/api/v1/orgs/acme/events/?resource={user.id}").json()["results"]
    assert [e["request_id"] for e in events] == [doc["results"][0]["id"]]


def test_another_orgs_key_sees_nothing(
    admin: User, other_admin: User, logged: ScimDirectory
) -> None:
    row = ScimRequest.objects.filter(org__slug="acme").first()
    assert row is not None
    api = client_for(other_admin)
    assert api.get("/api/v1/orgs/acme/scim/requests/").status_code == 404
    assert api.get(f"/api/v1/orgs/acme/scim/requests/{row.id}/").status_code == 404
    assert api.get(f"/api/v1/orgs/globex/scim/requests/{row.id}/").status_code == 404
    assert api.get("/api/v1/orgs/globex/scim/requests/").json()["results"] == []


def test_an_unknown_id_is_a_404(admin: User, logged: ScimDirectory) -> None:
    api = client_for(admin)
    assert api.get(f"/api/v1/orgs/acme/scim/requests/{uuid.uuid4()}/").status_code == 404
    assert api.get("/api/v1/orgs/acme/scim/requests/nope/").status_code == 404
