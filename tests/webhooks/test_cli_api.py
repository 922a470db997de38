"""The webhooks CLI contract and the admin API's endpoints, with tenant isolation, and
the refusal of private targets in production settings."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from directory.errors import InvalidValue
from directory.models import Org
from directory.services import UserFields, user_create
from tests.actors import OPERATOR
from tests.api.test_api import client_for
from tests.webhooks.conftest import Receiver
from webhooks.delivery import deliveries_run
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import IssuedSecret, endpoint_add


def _run(*args: str) -> str:
    out = StringIO()
    call_command("webhooks", *args, stdout=out)
    return out.getvalue()


def test_the_cli_adds_lists_tests_and_removes_an_endpoint(org: Org, receiver: Receiver) -> None:
    added = json.loads(
        _run("add", "acme", receiver.url, "--events", "user.created,user.deleted", "--json")
    )
    assert set(added) == {"id", "secret"} and added["secret"].startswith("whsec_")
    listed = json.loads(_run("list", "acme", "--json"))
    assert listed[0]["id"] == added["id"]
    assert listed[0]["event_types"] == ["user.created", "user.deleted"]
    assert "answered HTTP 204" in _run("test", "acme")
    test = receiver.deliveries[0]
    assert test.payload["type"] == "webhook.test"
    test.verified_with(added["secret"])
    assert "Removed" in _run("remove", "acme", added["id"])
    assert _run("list", "acme") == "No webhook endpoints.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "acme", "ftp://example.com/x"), "Only https URLs are allowed"),
        (
            ("add", "acme", "https://example.com/x", "--events", "user.exploded"),
            "Unknown event type",
        ),
        (("add", "nope", "https://example.com/x"), "nope"),
        (("remove", "acme"), "no webhook endpoints"),
        (("test", "acme", "not-an-id"), "No webhook endpoint"),
    ],
)
def test_the_cli_refuses_bad_input_with_one_line(
    org: Org, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert not WebhookEndpoint.objects.exists()


def test_a_failing_test_exits_non_zero(org: Org, receiver: Receiver) -> None:
    endpoint_add(org=org, url=receiver.url, actor=OPERATOR)
    receiver.status = 500
    with pytest.raises(CommandError, match="HTTP 500"):
        _run("test", "acme")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",  # plain http, loopback
        "https://127.0.0.1/hooks",  # loopback
        "https://10.0.0.8/hooks",  # private
        "https://169.254.169.254/latest",  # link-local: a cloud's metadata service
        "https://[::1]/hooks",
        "https://localhost/hooks",
    ],
)
def test_production_refuses_private_targets(org: Org, settings: Any, url: str) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(InvalidValue, match="Cannot deliver to this URL"):
        endpoint_add(org=org, url=url, actor=OPERATOR)


def test_link_local_stays_refused_even_where_private_targets_are_allowed(org: Org) -> None:
    with pytest.raises(InvalidValue, match="link-local"):
        endpoint_add(org=org, url="http://169.254.169.254/latest", actor=OPERATOR)


def test_a_target_is_checked_again_at_each_delivery(
    org: Org, receiver: Receiver, settings: Any
) -> None:
    endpoint_add(org=org, url=receiver.url, actor=OPERATOR)  # allowed in development
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    assert deliveries_run() == 0
    assert receiver.deliveries == []
    assert WebhookDelivery.objects.get().error == "Only https URLs are allowed"


def test_the_api_manages_endpoints_and_shows_their_deliveries(
    org: Org, admin: User, receiver: Receiver
) -> None:
    api = client_for(admin)
    r = api.post(
        "/api/v1/orgs/acme/webhooks/", {"url": receiver.url, "event_types": ["user.created"]}
    )
    assert r.status_code == 201, r.content
    endpoint_id, secret = r.json()["id"], r.json()["secret"]
    shown = api.get(f"/api/v1/orgs/acme/webhooks/{endpoint_id}/").json()
    assert shown["event_types"] == ["user.created"] and shown["secrets"] == [secret[:12] + "…"]
    assert "secret" not in json.dumps(api.get("/api/v1/orgs/acme/webhooks/").json()).replace(
        '"secrets"', ""
    )
    user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    deliveries_run()
    log = api.get(f"/api/v1/orgs/acme/webhooks/{endpoint_id}/deliveries/").json()["results"]
    assert [(d["type"], d["succeeded"], d["status"]) for d in log] == [("user.created", True, 204)]
    rotated = api.post(f"/api/v1/orgs/acme/webhooks/{endpoint_id}/rotate-secret/").json()
    assert rotated["secret"] != secret
    assert len(api.get(f"/api/v1/orgs/acme/webhooks/{endpoint_id}/").json()["secrets"]) == 2
    replay = api.post(
        f"/api/v1/orgs/acme/webhooks/{endpoint_id}/replay/", {"since": "2000-01-01T00:00:00Z"}
    )
    assert replay.json() == {"changes": 1}
    assert api.post(f"/api/v1/orgs/acme/webhooks/{endpoint_id}/test/").json()["status"] == 204
    r = api.patch(f"/api/v1/orgs/acme/webhooks/{endpoint_id}/", {"enabled": False}, format="json")
    assert r.json()["enabled"] is False
    bad = api.post("/api/v1/orgs/acme/webhooks/", {"url": receiver.url, "event_types": ["x"]})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "event_types"
    assert api.delete(f"/api/v1/orgs/acme/webhooks/{endpoint_id}/").status_code == 204


def test_another_orgs_admin_or_key_sees_and_changes_no_endpoint(
    org: Org, other_admin: User, hook: IssuedSecret
) -> None:
    api = client_for(other_admin)
    eid = hook.endpoint.id
    assert api.get("/api/v1/orgs/acme/webhooks/").status_code == 404
    for path in ("", "deliveries/"):
        assert api.get(f"/api/v1/orgs/globex/webhooks/{eid}/{path}").status_code == 404
    for path in ("rotate-secret/", "retry/", "test/"):
        assert api.post(f"/api/v1/orgs/globex/webhooks/{eid}/{path}").status_code == 404
    assert api.delete(f"/api/v1/orgs/globex/webhooks/{eid}/").status_code == 404
    assert api.patch(f"/api/v1/orgs/globex/webhooks/{eid}/", {"enabled": False}).status_code == 404
    assert WebhookEndpoint.objects.get().enabled is True
    assert api.get("/api/v1/orgs/globex/webhooks/").json() == []
