"""Every operation of the admin API's schema has a one-line summary, so the browsable
docs list endpoints by what they do."""

from __future__ import annotations

import pytest
from django.test import Client

from commandcenter.api.summaries import SUMMARIES, summary_of

pytestmark = pytest.mark.django_db


def test_every_operation_in_the_schema_has_a_summary(client: Client) -> None:
    r = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    operations = [
        op
        for methods in r.json()["paths"].values()
        for op in methods.values()
        if "operationId" in op
    ]
    assert len(operations) >= len(SUMMARIES)
    assert all(op.get("summary") for op in operations), [
        op["operationId"] for op in operations if not op.get("summary")
    ]
    by_id = {op["operationId"]: op["summary"] for op in operations}
    assert by_id["orgs_scim_tokens_create"] == "Generate a SCIM API token (shown once)"
    assert set(SUMMARIES) <= set(by_id)  # no summary for an operation that does not exist


def test_an_operation_without_words_of_its_own_gets_some_from_its_id() -> None:
    assert summary_of("orgs_webhooks_list") == "List webhooks"
    assert summary_of("orgs_ldap_sync_create") == "Create ldap sync"
    assert summary_of("orgs_users_seat_partial_update") == "Change users seat"
    assert summary_of("orgs_list") == "List orgs"
