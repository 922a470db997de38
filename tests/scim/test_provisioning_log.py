"""Every request to a directory's SCIM URL is in the provisioning log: accepted,
refused, throttled, unauthenticated, with its secrets masked and a reason that says
what is wrong."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from directory.models import Org, ScimDirectory, ScimRequest
from directory.services import scim_disable, scim_requests
from tests.actors import OPERATOR
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user
from tokens.models import ScimToken
from tokens.services import token_revoke

WHEN = datetime(2026, 12, 1, 9, 30, 1, tzinfo=UTC)


def _only(org: Org | None = None, **filters: Any) -> ScimRequest:
    rows = ScimRequest.objects.filter(org=org, **filters)
    assert rows.count() == 1, list(rows.values("method", "path", "status"))
    return rows.get()


def test_a_created_user_is_logged_with_its_password_masked(scim: ScimClient, org: Org) -> None:
    body = okta_user("ada@acme.example") | {"password": "hunter2", "x-api-token": "t0ken"}
    r = scim.post("/Users?attributes=userName", body)
    assert r.status_code == 201
    row = _only(org, method="POST")
    assert row.status == 201 and row.status_class == "2xx"
    assert row.path.endswith("/Users") and row.query == "attributes=userName"
    assert row.idp == ScimRequest.Idp.OKTA and row.user_agent == "Okta SCIM Client 1.0.0"
    token = ScimToken.objects.get(directory__org=org)
    assert (row.token_name, row.token_prefix) == ("Okta", token.prefix)
    assert row.client_address == "127.0.0.1" and row.latency_ms >= 0 and row.count == 1
    sent = json.loads(row.request_body)
    assert sent["password"] == "***" and sent["x-api-token"] == "***"
    assert sent["userName"] == "ada@acme.example"
    assert "hunter2" not in row.request_body and "t0ken" not in row.request_body
    assert json.loads(row.response_body)["id"] == r.json()["id"]
    assert "Bearer" not in row.request_body + row.response_body


def test_a_password_set_by_patch_is_masked(scim: ScimClient, org: Org) -> None:
    uid = scim.post("/Users", okta_user("ada@acme.example")).json()["id"]
    op = {"op": "replace", "path": "password", "value": "s3cret-value"}
    assert scim.patch_ops(f"/Users/{uid}", op).status_code == 200
    row = _only(org, method="PATCH")
    assert "s3cret-value" not in row.request_body
    assert json.loads(row.request_body)["Operations"][0]["value"] == "***"


def test_a_refused_write_is_logged_with_its_scim_type(scim: ScimClient, org: Org) -> None:
    scim.post("/Users", okta_user("ada@acme.example"))
    assert_scim_error(scim.post("/Users", okta_user("ada@acme.example")), 409, "uniqueness")
    row = _only(org, status=409)
    assert row.scim_type == "uniqueness" and row.status_class == "4xx"
    assert json.loads(row.request_body)["userName"] == "ada@acme.example"


def test_a_wrong_token_is_logged_for_the_directory_it_was_sent_to(
    directory: ScimDirectory, org: Org
) -> None:
    r = Client(HTTP_AUTHORIZATION="Bearer ccscim_nope").get(f"/scim/v2/{directory.id}/Users")
    assert_scim_error(r, 401)
    row = _only(org, status=401)
    assert row.directory_id == directory.id and row.token_name == "" and row.token_prefix == ""
    assert "valid SCIM API token" in row.detail


def test_a_request_without_a_token_is_logged(directory: ScimDirectory, org: Org) -> None:
    assert_scim_error(Client().get(f"/scim/v2/{directory.id}/Groups"), 401)
    assert "Authentication required" in _only(org, status=401).detail


def test_a_request_to_an_unknown_directory_is_logged_for_operators_only(
    org: Org, token: str
) -> None:
    url = f"/scim/v2/{uuid.uuid4()}/Users"
    assert_scim_error(Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(url), 401)
    row = _only(None)
    assert row.directory_id is None and row.path == url
    assert not org.scim_requests.exists()


def test_a_revoked_token_is_told_when_it_was_revoked(
    scim: ScimClient, directory: ScimDirectory, org: Org
) -> None:
    token = ScimToken.objects.get(directory=directory)
    with time_machine.travel(datetime(2026, 11, 30, 8, 15, tzinfo=UTC), tick=False):
        token_revoke(directory=directory, token_id=str(token.id), actor=OPERATOR)
    body = assert_scim_error(scim.get("/Users"), 401)
    assert body["detail"] == "This token was revoked on 2026-11-30 08:15 UTC"
    assert _only(org, status=401).detail == body["detail"]


def test_while_scim_is_off_the_idp_is_told_so(scim: ScimClient, org: Org) -> None:
    scim_disable(org=org, actor=OPERATOR)
    body = assert_scim_error(scim.post("/Users", okta_user("ada@acme.example")), 401)
    assert body["detail"] == "SCIM provisioning is switched off for this org"
    row = _only(org, status=401)
    assert row.detail == body["detail"]
    assert not org.users.exists()


def test_another_orgs_token_gets_the_generic_reason(
    directory: ScimDirectory, other_org: Org, other_token: str
) -> None:
    scim_disable(org=other_org, actor=OPERATOR)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {other_token}")
    body = assert_scim_error(client.get(f"/scim/v2/{directory.id}/Users"), 401)
    assert "switched off" not in body["detail"] and "valid SCIM API token" in body["detail"]


def test_a_rate_limited_request_is_logged_with_its_token(
    scim: ScimClient, org: Org, settings: Any
) -> None:
    settings.SCIM_RATE_PER_TOKEN = 1
    with time_machine.travel(WHEN, tick=False):
        assert scim.get("/Users").status_code == 200
        assert_scim_error(scim.get("/Users"), 429)
    row = _only(org, status=429)
    assert row.token_name == "Okta" and row.status_class == "429" and not row.aggregated


def test_a_throttled_address_is_counted_in_one_row_a_minute(
    directory: ScimDirectory, org: Org, settings: Any
) -> None:
    settings.SCIM_AUTH_FAILURES_PER_MINUTE = 3
    client = Client(HTTP_AUTHORIZATION="Bearer ccscim_wrong", REMOTE_ADDR="2001:db8::7")
    url = f"/scim/v2/{directory.id}/Users"
    with time_machine.travel(WHEN, tick=False):
        for _ in range(3):
            assert_scim_error(client.get(url), 401)
        for _ in range(40):
            assert_scim_error(client.get(url), 429)
        assert org.scim_requests.count() == 3  # the throttled ones wait in this process
        scim_requests.scim_requests_flush(force=True)
    row = _only(org, aggregated=True)
    assert row.count == 40 and row.status == 429 and row.client_address == "2001:db8::7"
    assert row.created_at == WHEN.replace(second=0) and row.request_body == ""
    # The next minute's requests get a row of their own, written at the next request
    # after that minute (or after THROTTLED_FLUSH_SECONDS).
    with time_machine.travel(WHEN + timedelta(minutes=1), tick=False):
        for _ in range(3):
            assert_scim_error(client.get(url), 401)
        for _ in range(5):
            assert_scim_error(client.get(url), 429)
    with time_machine.travel(WHEN + timedelta(minutes=2), tick=False):
        assert_scim_error(client.get(url), 401)
    rows = org.scim_requests.filter(aggregated=True).order_by("created_at")
    assert [r.count for r in rows] == [40, 5]


def test_a_log_that_cannot_be_written_never_fails_the_request(
    scim: ScimClient, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("log down")

    monkeypatch.setattr(scim_requests, "scim_request_record", broken)
    assert scim.post("/Users", okta_user("ada@acme.example")).status_code == 201
    assert scim.get("/Users").status_code == 200
    assert org.users.count() == 1 and not ScimRequest.objects.exists()


def test_another_orgs_requests_are_not_in_this_orgs_log(
    scim: ScimClient, other_scim: ScimClient, org: Org, other_org: Org
) -> None:
    scim.get("/Users")
    other_scim.get("/Users")
    other_scim.get("/Groups")
    assert org.scim_requests.count() == 1
    assert other_org.scim_requests.count() == 2
    assert other_org.scim_requests.filter(idp=ScimRequest.Idp.ENTRA).count() == 2


def test_the_log_can_be_switched_off_to_measure_it(
    scim: ScimClient, settings: Any, django_assert_max_num_queries: Any
) -> None:
    scim.get("/Users")  # the token's last use is written once a minute
    settings.SCIM_REQUEST_LOG = False
    with django_assert_max_num_queries(20) as off:
        assert scim.get("/Users").status_code == 200
    settings.SCIM_REQUEST_LOG = True
    with django_assert_max_num_queries(20) as on:
        assert scim.get("/Users").status_code == 200
    assert len(on.captured_queries) == len(off.captured_queries) + 1  # one INSERT
    assert "INSERT" in on.captured_queries[-1]["sql"]
    assert ScimRequest.objects.count() == 2
