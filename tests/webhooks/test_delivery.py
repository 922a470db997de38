"""Webhook deliveries to a real receiver on 127.0.0.1: signed as Standard Webhooks says,
in order, at least once with one id per change, retried with backoff, disabled after
the retry window; a slow or dead receiver never holds up a SCIM request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from directory.models import EndUser, Org, ScimDirectory
from directory.services import UserFields, group_create, group_update, user_create, user_update
from tests.actors import OPERATOR
from tests.scim.conftest import ScimClient, okta_user
from tests.webhooks.conftest import Receiver
from webhooks.delivery import RETRY_WINDOW, deliveries_run
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    IssuedSecret,
    endpoint_add,
    endpoint_replay,
    endpoint_retry,
    secret_rotate,
)


def _user(org: Org, name: str, **extra: Any) -> EndUser:
    return user_create(org=org, fields=UserFields(user_name=name, **extra), actor=OPERATOR)


def test_a_change_is_delivered_signed_and_verifies_with_the_standard_library(
    org: Org, hook: IssuedSecret, receiver: Receiver
) -> None:
    ada = _user(org, "ada@acme.example", given_name="Ada")
    assert deliveries_run() == 2
    assert receiver.types == ["user.created", "seat.assigned"]
    first = receiver.deliveries[0]
    payload = first.verified_with(hook.secret)
    assert payload["data"]["object"]["userName"] == "ada@acme.example"
    assert payload["data"]["resource_id"] == str(ada.pk) and payload["data"]["org"] == "acme"
    assert first.id.startswith("msg_") and first.id == payload["data"]["id"]
    assert first.headers["content-type"] == "application/json"
    with pytest.raises(Exception, match="signature"):
        first.verified_with("whsec_" + "A" * 43 + "=")  # another secret
    assert deliveries_run() == 0  # nothing is sent twice


def test_an_endpoint_receives_changes_from_its_creation_on(org: Org, receiver: Receiver) -> None:
    _user(org, "before@acme.example")
    endpoint_add(org=org, url=receiver.url, actor=OPERATOR)
    _user(org, "after@acme.example")
    deliveries_run()
    users = {d.payload["data"]["object"]["userName"] for d in receiver.deliveries}
    assert users == {"after@acme.example"}


def test_a_receiver_down_for_a_while_then_back_gets_everything_in_order(
    org: Org, hook: IssuedSecret, receiver: Receiver
) -> None:
    receiver.status = 503
    ada = _user(org, "ada@acme.example")
    assert deliveries_run() == 0
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.failures == 1 and endpoint.next_attempt_at is not None
    waited = endpoint.next_attempt_at - timezone.now()
    assert timedelta(seconds=3) < waited < timedelta(seconds=7)  # 5 s, ±20 %
    assert deliveries_run() == 0  # not due yet: no second attempt
    assert len(receiver.deliveries) == 1
    # Meanwhile the directory goes on changing.
    user_update(
        user=EndUser.objects.get(pk=ada.pk),
        fields=UserFields(user_name="ada@acme.example", title="CTO"),
        actor=OPERATOR,
    )
    bob = _user(org, "bob@acme.example")
    later = timezone.now() + timedelta(minutes=3)
    with time_machine.travel(later, tick=False):
        assert deliveries_run() == 0  # still down: the second failure
    receiver.status = 200
    with time_machine.travel(later + timedelta(hours=1), tick=False):
        assert deliveries_run() == 5
    sent = [(d.payload["type"], d.payload["data"]["resource_id"]) for d in receiver.deliveries]
    # Three attempts of the first change, then each change once, in the order made.
    assert sent == [
        ("user.created", str(ada.pk)),
        ("user.created", str(ada.pk)),
        ("user.created", str(ada.pk)),
        ("seat.assigned", str(ada.pk)),
        ("user.updated", str(ada.pk)),
        ("user.created", str(bob.pk)),
        ("seat.assigned", str(bob.pk)),
    ]
    ids = [d.id for d in receiver.deliveries]
    assert len(set(ids[:3])) == 1 and len(set(ids)) == 5  # repeats only with the same id
    assert receiver.deliveries[4].payload["data"]["changed"] == ["title"]
    log = list(WebhookDelivery.objects.order_by("id").values_list("attempt", "succeeded", "status"))
    assert log[:3] == [(1, False, 503), (2, False, 503), (3, True, 200)]
    assert WebhookEndpoint.objects.get().failures == 0


def test_a_redirect_is_a_failure_and_is_not_followed(
    org: Org, hook: IssuedSecret, receiver: Receiver
) -> None:
    receiver.status, receiver.location = 302, receiver.url + "/elsewhere"
    _user(org, "ada@acme.example")
    assert deliveries_run() == 0
    delivery = WebhookDelivery.objects.get()
    assert not delivery.succeeded and "redirect" in delivery.error
    assert len(receiver.deliveries) == 1


def test_an_endpoint_failing_past_the_retry_window_is_disabled_and_the_admins_told(
    org: Org, admin: Any, hook: IssuedSecret, receiver: Receiver
) -> None:
    receiver.status = 500
    _user(org, "ada@acme.example")
    start = timezone.now()
    deliveries_run()
    endpoint = WebhookEndpoint.objects.get()
    while endpoint.enabled:
        assert endpoint.next_attempt_at is not None
        with time_machine.travel(endpoint.next_attempt_at + timedelta(seconds=1), tick=False):
            deliveries_run()
        endpoint.refresh_from_db()
        assert endpoint.next_attempt_at - start < RETRY_WINDOW + timedelta(days=1)
    assert endpoint.disabled_reason == "HTTP 500"
    attempts = WebhookDelivery.objects.count()
    assert 8 <= attempts <= 20  # about 3 days of backoff, not a retry storm
    (message,) = mail.outbox
    assert message.to == ["alice@acme.example"] and hook.endpoint.url in message.body
    # An admin's retry enables it again and it resumes where it stopped.
    receiver.status = 200
    endpoint_retry(endpoint=endpoint, actor=OPERATOR)
    deliveries_run()
    assert receiver.types[-2:] == ["user.created", "seat.assigned"]


def test_two_secrets_sign_during_a_rotation(
    org: Org, hook: IssuedSecret, receiver: Receiver
) -> None:
    rotated = secret_rotate(endpoint=hook.endpoint, actor=OPERATOR)
    _user(org, "ada@acme.example")
    deliveries_run()
    first = receiver.deliveries[0]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    first.verified_with(hook.secret)
    first.verified_with(rotated.secret)
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        _user(org, "bob@acme.example")
        deliveries_run()
        last = receiver.deliveries[-1]
        assert len(last.headers["webhook-signature"].split(" ")) == 1
        last.verified_with(rotated.secret)
        with pytest.raises(Exception, match="signature"):
            last.verified_with(hook.secret)


def test_an_endpoint_gets_only_the_types_it_wants(org: Org, receiver: Receiver) -> None:
    endpoint_add(
        org=org, url=receiver.url, event_types=["user.deactivated", "user.deleted"], actor=OPERATOR
    )
    ada = _user(org, "ada@acme.example")
    user_update(
        user=ada, fields=UserFields(user_name="ada@acme.example", active=False), actor=OPERATOR
    )
    deliveries_run()
    assert receiver.types == ["user.deactivated"]
    assert WebhookEndpoint.objects.get().cursor_id > 0


def test_membership_changes_come_in_batches_with_the_user_ids(
    org: Org, hook: IssuedSecret, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from directory.services import changes

    monkeypatch.setattr(changes, "MEMBERS_PER_EVENT", 2)
    users = [_user(org, f"u{n}@acme.example") for n in range(5)]
    group = group_create(org=org, display_name="Engineering", actor=OPERATOR)
    group_update(group=group, member_ops=[("add", [str(u.pk) for u in users])], actor=OPERATOR)
    group_update(group=group, member_ops=[("remove", [str(users[0].pk)])], actor=OPERATOR)
    deliveries_run()
    members = [d.payload for d in receiver.deliveries if d.payload["type"].startswith("group.")]
    assert [p["type"] for p in members] == [
        "group.created",
        "group.members_added",
        "group.members_added",
        "group.members_added",
        "group.members_removed",
    ]
    added = [i for p in members[1:4] for i in p["data"]["userIds"]]
    assert sorted(added) == sorted(str(u.pk) for u in users)
    assert members[4]["data"]["userIds"] == [str(users[0].pk)]


def test_replay_sends_again_from_a_point_in_time_with_the_first_ids(
    org: Org, hook: IssuedSecret, receiver: Receiver
) -> None:
    _user(org, "ada@acme.example")
    middle = timezone.now()
    _user(org, "bob@acme.example")
    deliveries_run()
    assert len(receiver.deliveries) == 4
    first_ids = [d.id for d in receiver.deliveries]
    assert endpoint_replay(endpoint=hook.endpoint, since=middle, actor=OPERATOR) == 2
    deliveries_run()
    assert [d.id for d in receiver.deliveries[4:]] == first_ids[2:]


def test_a_slow_or_dead_receiver_holds_up_no_scim_request(
    directory: ScimDirectory, token: str, org: Org, receiver: Receiver
) -> None:
    scim = ScimClient(directory, token)
    endpoint_add(org=org, url=receiver.url, actor=OPERATOR)
    receiver.delay = 3.0  # were a SCIM request to wait for it, the test would see
    for n in range(3):
        assert scim.post("/Users", okta_user(f"u{n}@acme.example")).status_code == 201
    # SCIM requests only write the change; the receiver has heard nothing yet.
    assert receiver.deliveries == []
    assert org.changes.filter(type="user.created").count() == 3


def test_deliveries_go_only_to_the_orgs_own_endpoints(
    org: Org, other_org: Org, hook: IssuedSecret, receiver: Receiver
) -> None:
    _user(other_org, "eve@globex.example")
    _user(org, "ada@acme.example")
    deliveries_run()
    assert {d.payload["data"]["org"] for d in receiver.deliveries} == {"acme"}
    assert "eve@" not in b"".join(d.body for d in receiver.deliveries).decode()


def test_a_replay_during_a_run_is_not_undone_by_it(
    org: Org, hook: IssuedSecret, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webhooks import delivery

    _user(org, "ada@acme.example")
    start = timezone.now() - timedelta(minutes=1)
    real_send = delivery.send

    def send_then_replay(*args: Any, **kwargs: Any) -> Any:
        attempt = real_send(*args, **kwargs)
        if len(receiver.deliveries) == 1:  # an admin replays while the run sends
            endpoint_replay(endpoint=WebhookEndpoint.objects.get(), since=start, actor=OPERATOR)
        return attempt

    monkeypatch.setattr(delivery, "send", send_then_replay)
    assert deliveries_run() == 1  # the run stops: its cursor was moved under it
    assert deliveries_run() == 2  # the next run starts from the replay's point
    assert receiver.types == ["user.created", "user.created", "seat.assigned"]


def test_a_run_that_read_the_endpoints_before_another_run_delivered_sends_nothing_twice(
    org: Org, hook: IssuedSecret, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers' runs: the second reads the due endpoints, the first delivers everything
    # and lets go of the endpoint, then the second claims it.
    from webhooks import delivery

    _user(org, "ada@acme.example")
    real_claim = delivery._claim

    def another_run_first(endpoint: WebhookEndpoint, now: Any) -> bool:
        monkeypatch.setattr(delivery, "_claim", real_claim)
        assert deliveries_run() == 2
        return real_claim(endpoint, now)

    monkeypatch.setattr(delivery, "_claim", another_run_first)
    assert deliveries_run() == 0
    ids = [d.id for d in receiver.deliveries]
    assert len(ids) == 2 and len(set(ids)) == 2
