"""Settings > Webhooks in the console: adding an endpoint shows its secret once; an
endpoint's page shows its delivery log and runs test, retry, replay, rotation,
disable/enable and removal; another org's admin gets 404 everywhere."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.test import Client

from directory.models import Org
from directory.services import UserFields, user_create
from tests.actors import OPERATOR
from tests.webhooks.conftest import Receiver
from webhooks.delivery import deliveries_run
from webhooks.models import WebhookEndpoint
from webhooks.services import IssuedSecret


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(
    org: Org, admin: User, receiver: Receiver
) -> None:
    client = _client(admin)
    assert 'href="/o/acme/settings/webhooks/"' in client.get("/o/acme/settings/").content.decode()
    r = client.post(
        "/o/acme/settings/webhooks/",
        {"url": receiver.url, "event_types": ["user.created", "user.deleted"]},
    )
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    secret = re.search(r'value="(whsec_[^"]+)"', r.content.decode())
    assert secret is not None
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["user.created", "user.deleted"]
    again = client.get("/o/acme/settings/webhooks/").content.decode()
    assert secret.group(1) not in again and receiver.url in again
    assert (
        secret.group(1)
        not in client.get(f"/o/acme/settings/webhooks/{endpoint.id}/").content.decode()
    )


def test_a_url_that_cannot_be_delivered_to_is_refused_on_the_form(
    org: Org, admin: User, settings: object
) -> None:
    r = _client(admin).post("/o/acme/settings/webhooks/", {"url": "ftp://example.com/x"})
    assert r.status_code == 400 and "Only https URLs are allowed" in r.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_page_shows_its_deliveries_and_runs_its_actions(
    org: Org, admin: User, hook: IssuedSecret, receiver: Receiver
) -> None:
    client = _client(admin)
    base = f"/o/acme/settings/webhooks/{hook.endpoint.id}/"
    receiver.status = 503
    user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    deliveries_run()
    page = client.get(base).content.decode()
    assert "Failing since" in page and "user.created" in page and "HTTP 503" in page
    receiver.status = 200
    r = client.post(base + "retry/", follow=True)
    assert "tried again within seconds" in r.content.decode()
    assert deliveries_run() == 2
    r = client.post(base + "test/", follow=True)
    assert "Test sent: HTTP 200" in r.content.decode()
    r = client.post(base + "replay/", {"since": "2000-01-01T00:00"}, follow=True)
    assert "2 changes since 2000-01-01 00:00 UTC will be sent again." in r.content.decode()
    r = client.post(base + "rotate/")
    assert r["Cache-Control"] == "no-store" and "The new signing secret" in r.content.decode()
    assert "until" in client.get(base).content.decode()  # the old one, for 24 hours
    client.post(base + "disable/")
    assert WebhookEndpoint.objects.get().enabled is False
    client.post(base + "enable/")
    assert WebhookEndpoint.objects.get().enabled is True
    r = client.post(base + "remove/", follow=True)
    assert "Webhook endpoint removed" in r.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_another_orgs_admin_gets_404_on_every_page_and_action(
    org: Org, other_admin: User, hook: IssuedSecret
) -> None:
    client = _client(other_admin)
    eid = hook.endpoint.id
    assert client.get("/o/acme/settings/webhooks/").status_code == 404
    assert (
        client.post("/o/acme/settings/webhooks/", {"url": "https://x.example/"}).status_code == 404
    )
    for slug in ("acme", "globex"):
        assert client.get(f"/o/{slug}/settings/webhooks/{eid}/").status_code == 404
        for action in ("test", "retry", "replay", "rotate", "disable", "remove"):
            r = client.post(f"/o/{slug}/settings/webhooks/{eid}/{action}/")
            assert r.status_code == 404, (slug, action)
    assert WebhookEndpoint.objects.get().enabled is True
    assert Client().get("/o/acme/settings/webhooks/").status_code == 302  # signed out


def test_operators_see_endpoints_and_deliveries_in_the_django_admin_and_write_nothing(
    org: Org, hook: IssuedSecret, receiver: Receiver
) -> None:
    user_create(org=org, fields=UserFields(user_name="ada@acme.example"), actor=OPERATOR)
    deliveries_run()
    ops = Client()
    ops.force_login(User.objects.create_superuser("ops@example.com", "ops@example.com", "x"))
    listing = ops.get("/admin/webhooks/webhookendpoint/").content.decode()
    assert receiver.url in listing
    assert ops.get("/admin/webhooks/webhookdelivery/").status_code == 200
    assert ops.get("/admin/webhooks/webhookendpoint/add/").status_code == 403
    page = ops.get(f"/admin/webhooks/webhookendpoint/{hook.endpoint.pk}/change/").content.decode()
    assert hook.secret not in page


def test_an_admin_sets_how_long_changes_are_kept(org: Org, admin: User, other_admin: User) -> None:
    r = _client(admin).post("/o/acme/settings/webhooks/retention/", {"days": "90"}, follow=True)
    assert "Changes are kept 90 days." in r.content.decode()
    r = _client(admin).post("/o/acme/settings/webhooks/retention/", {"days": "999"}, follow=True)
    assert "1 to 365 days" in r.content.decode()
    assert (
        _client(other_admin).post("/o/acme/settings/webhooks/retention/", {"days": "1"}).status_code
        == 404
    )
    org.refresh_from_db()
    assert org.change_retention_days == 90
