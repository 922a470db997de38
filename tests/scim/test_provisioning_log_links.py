"""What the provisioning log ties together and what it hides: each entry names the user
or group it was about and the events it caused; an org may have personal data masked
(requests no token of the org authenticated always are); a user deleted permanently
leaves no personal value in it; a revoked token or SCIM switched off is an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import time_machine
from django.test import Client

from directory.models import EndUser, Org, ProvisioningEvent, ScimDirectory, ScimRequest
from directory.services import scim_disable, user_delete
from tests.actors import OPERATOR
from tests.scim.conftest import ScimClient, assert_scim_error, okta_user
from tokens.models import ScimToken
from tokens.services import token_revoke

WHEN = datetime(2026, 12, 1, 9, 30, 1, tzinfo=UTC)


def _mask_personal(org: Org) -> None:
    Org.objects.filter(pk=org.pk).update(request_log_masks_personal_data=True)


def test_an_entry_names_the_user_it_created_and_the_event_it_caused(
    scim: ScimClient, org: Org
) -> None:
    user_id = scim.post("/Users", okta_user("ada@acme.example")).json()["id"]
    row = org.scim_requests.get(method="POST")
    assert (row.resource_type, str(row.resource_id)) == ("User", user_id)
    event = org.events.get(action=ProvisioningEvent.Action.USER_CREATE)
    assert event.request_id == row.id


def test_an_entry_names_the_user_in_its_path_and_its_failure_event(
    scim: ScimClient, org: Org
) -> None:
    user_id = scim.post("/Users", okta_user("ada@acme.example")).json()["id"]
    r = scim.patch_ops(f"/Users/{user_id}", {"op": "replace", "path": "userName", "value": ""})
    assert_scim_error(r, 400)
    row = org.scim_requests.get(method="PATCH")
    assert row.resource_id is not None and str(row.resource_id) == user_id
    failure = org.events.get(outcome=ProvisioningEvent.Outcome.FAILURE)
    assert failure.request_id == row.id and failure.status_code == 400


def test_a_read_causes_no_event_and_each_request_has_its_own_entry(
    scim: ScimClient, org: Org
) -> None:
    scim.post("/Users", okta_user("ada@acme.example"))
    scim.get("/Users", {"filter": 'userName eq "ada@acme.example"'})
    rows = list(org.scim_requests.order_by("created_at"))
    assert len(rows) == 2 and rows[0].id != rows[1].id
    assert ProvisioningEvent.objects.filter(request_id=rows[1].id).count() == 0


def test_personal_data_is_kept_unless_the_org_masks_it(scim: ScimClient, org: Org) -> None:
    scim.post("/Users", okta_user("ada@acme.example"))
    row = org.scim_requests.get()
    assert json.loads(row.request_body)["userName"] == "ada@acme.example"
    assert org.request_log_masks_personal_data is False


def test_an_org_that_masks_personal_data_keeps_none_in_bodies_filters_and_reasons(
    scim: ScimClient, org: Org
) -> None:
    _mask_personal(org)
    user = okta_user("ada@acme.example", given="Ada", family="Lovelace")
    user["phoneNumbers"] = [{"value": "+44 20 7946 0000", "type": "work"}]
    user["addresses"] = [{"streetAddress": "12 St James's Sq", "locality": "London"}]
    user["title"] = "Analyst"
    scim.post("/Users", user)
    assert_scim_error(scim.post("/Users", user), 409, "uniqueness")
    scim.get("/Users", {"filter": 'userName eq "ada@acme.example"', "count": "1"})
    for row in org.scim_requests.all():
        kept = row.request_body + row.response_body + row.query + row.detail
        for personal in ("ada@acme.example", "Lovelace", "7946", "St James", "London"):
            assert personal not in kept, (row.method, row.status, personal)
    created = org.scim_requests.get(status=201)
    body = json.loads(created.request_body)
    assert body["title"] == "Analyst" and body["active"] is True  # the rest stays
    assert body["emails"][0]["type"] == "work" and body["emails"][0]["value"] == "***"
    assert org.scim_requests.get(status=409).detail.count("***") == 1
    assert "userName+eq+%22***%22" in org.scim_requests.get(method="GET").query


def test_a_masked_log_keeps_a_groups_name_but_not_its_members_names(
    scim: ScimClient, org: Org
) -> None:
    _mask_personal(org)
    user_id = scim.post("/Users", okta_user("ada@acme.example")).json()["id"]
    scim.post(
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{"value": user_id, "display": "Ada Lovelace"}],
        },
    )
    row = org.scim_requests.get(path__endswith="/Groups")
    body = json.loads(row.request_body)
    assert body["displayName"] == "Engineering"
    assert body["members"] == [{"value": user_id, "display": "***"}]


def test_a_request_no_token_of_the_org_authenticated_is_always_masked(
    directory: ScimDirectory, org: Org
) -> None:
    client = Client(HTTP_AUTHORIZATION="Bearer ccscim_nope")
    r = client.post(
        f"/scim/v2/{directory.id}/Users",
        json.dumps(okta_user("ada@acme.example")),
        content_type="application/scim+json",
    )
    assert_scim_error(r, 401)
    assert "ada@acme.example" not in org.scim_requests.get().request_body


def test_deleting_a_user_permanently_masks_them_in_the_log(scim: ScimClient, org: Org) -> None:
    ada = scim.post("/Users", okta_user("ada@acme.example", family="Lovelace")).json()
    bob = scim.post("/Users", okta_user("bob@acme.example", family="Babbage")).json()
    scim.get("/Users", {"filter": 'userName eq "ada@acme.example"'})
    scim.patch_ops(f"/Users/{ada['id']}", {"op": "replace", "path": "title", "value": "CTO"})
    user_delete(user=EndUser.objects.get(pk=ada["id"]), actor=OPERATOR)
    kept = "".join(
        r.request_body + r.response_body + r.query + r.detail for r in org.scim_requests.all()
    )
    assert "ada@acme.example" not in kept and "Lovelace" not in kept
    assert "bob@acme.example" in kept and "Babbage" in kept  # other users stay as they were
    assert org.scim_requests.filter(resource_id=ada["id"]).count() == 2
    assert org.scim_requests.filter(resource_id=bob["id"]).count() == 1


def test_scim_switched_off_is_a_failure_event_once_a_minute(scim: ScimClient, org: Org) -> None:
    scim_disable(org=org, actor=OPERATOR)
    with time_machine.travel(WHEN, tick=False):
        for _ in range(3):
            assert_scim_error(scim.post("/Users", okta_user("ada@acme.example")), 401)
    event = org.events.get(outcome=ProvisioningEvent.Outcome.FAILURE)
    assert event.message == "SCIM provisioning is switched off for this org"
    assert event.action == ProvisioningEvent.Action.USER_CREATE and event.status_code == 401
    assert org.scim_requests.filter(status=401).count() == 3
    assert event.request_id is not None
    row = org.scim_requests.get(id=event.request_id)
    assert row.status == 401 and row.token_name == "Okta"  # the token it was sent with


def test_a_revoked_token_is_a_failure_event_naming_when(
    scim: ScimClient, directory: ScimDirectory, org: Org
) -> None:
    token = ScimToken.objects.get(directory=directory)
    with time_machine.travel(WHEN - timedelta(days=1), tick=False):
        token_revoke(directory=directory, token_id=str(token.id), actor=OPERATOR)
    assert_scim_error(scim.get("/Users"), 401)
    event = org.events.get(outcome=ProvisioningEvent.Outcome.FAILURE)
    assert event.message == "This token was revoked on 2026-11-30 09:30 UTC"


def test_another_orgs_refused_requests_are_not_this_orgs_events(
    directory: ScimDirectory, org: Org, other_org: Org, other_token: str
) -> None:
    scim_disable(org=other_org, actor=OPERATOR)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {other_token}")
    assert_scim_error(client.get(f"/scim/v2/{directory.id}/Users"), 401)
    assert not ProvisioningEvent.objects.filter(outcome="failure").exists()
    assert not other_org.scim_requests.exists()
    assert ScimRequest.objects.get().org_id == org.pk  # sent to this org's URL
