"""An org as crowded as a real one and as awkward as a hostile IdP can make it: many
users (bulk-inserted), and the longest values each field takes, with no space to break
at, in every place the console shows them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from directory.models import (
    AuditEvent,
    ChangeEvent,
    EndUser,
    Group,
    Membership,
    Org,
    ProvisioningEvent,
    ScimDirectory,
    ScimRequest,
    Source,
)
from directory.services import org_admin_add, org_create
from tests.actors import OPERATOR
from tokens.services import api_key_issue, token_issue
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookSecret

# 20,000 as the issue asks; CROWDED_USERS=2000 for a quicker local run.
USERS = int(os.environ.get("CROWDED_USERS", "20000"))
LONG = "x" * 400  # one word: nothing to break at


def long_word(n: int) -> str:
    return ("Wolfeschlegelsteinhausenbergerdorff" * 20)[:n]


@dataclass
class Crowded:
    long_user: EndUser
    long_group: Group
    request: ScimRequest
    endpoint: WebhookEndpoint


def crowd(org: Org, directory: ScimDirectory, admin: User) -> Crowded:
    """Fill `org` (whose SCIM `directory` is on and whose `admin` signs in)."""
    Org.objects.filter(pk=org.pk).update(seats=25, seats_used=25, name=f"Acme {long_word(150)}")
    # A second org of the same admin, so the org switcher shows.
    other = org_create(slug="acme-subsidiary", name=f"Subsidiary {long_word(150)}", seats=5)
    org_admin_add(org=other, email=admin.username)

    long_name = f"{long_word(240)}@acme.example"
    long_user = EndUser.objects.create(
        org=org,
        directory=directory,
        source=Source.SCIM,
        user_name=long_name,
        display_name=long_word(255),
        given_name=long_word(255),
        family_name=long_word(255),
        title=long_word(255),
        department=long_word(255),
        external_id=long_word(255),
        emails=[{"value": long_name, "type": "work", "primary": True}],
        phone_numbers=[{"value": LONG, "type": "work"}],
        access=EndUser.Access.NOT_IN_ACCESS_GROUPS,
    )
    EndUser.objects.bulk_create(
        [
            EndUser(
                org=org,
                directory=directory,
                source=Source.SCIM,
                user_name=f"person{i:06d}@acme.example",
                given_name=f"Given{i}",
                family_name=f"Family{i}",
                has_seat=i < 24,
                active=i % 50 != 0,
            )
            for i in range(USERS - 1)
        ],
        batch_size=2000,
    )
    long_group = Group.objects.create(
        org=org, directory=directory, source=Source.SCIM, display_name=long_word(255)
    )
    members = list(org.users.order_by("created_at").values_list("id", flat=True)[:120])
    Membership.objects.bulk_create([Membership(group=long_group, user_id=m) for m in members])
    Group.objects.bulk_create(
        [Group(org=org, source=Source.MANUAL, display_name=f"Team {i}") for i in range(120)]
    )

    now = timezone.now()
    request = ScimRequest.objects.create(
        org=org,
        directory=directory,
        created_at=now,
        method="POST",
        path=f"/scim/v2/{directory.id}/Users/{long_word(300)}",
        query=f'filter=userName eq "{LONG}"',
        status=400,
        scim_type="invalidValue",
        detail=f"userName {LONG} is not valid",
        user_agent=long_word(255),
        token_name=long_word(100),
        token_prefix="ccscim_abcd",
        resource_type="User",
        resource_id=long_user.id,
        request_body='{"userName": "' + LONG + '", "displayName": "' + LONG + '"}',
        response_body='{"detail": "' + LONG + '"}',
    )
    ProvisioningEvent.objects.bulk_create(
        [
            ProvisioningEvent(
                org=org,
                directory=directory,
                action=ProvisioningEvent.Action.USER_CREATE,
                outcome=ProvisioningEvent.Outcome.FAILURE,
                resource_type="User",
                resource_name=long_word(255),
                message=f"userName {LONG} is refused",
                status_code=400,
                client=long_word(255),
                request_id=request.id,
            ),
            ProvisioningEvent(
                org=org,
                directory=directory,
                action=ProvisioningEvent.Action.USER_CREATE,
                outcome=ProvisioningEvent.Outcome.SUCCESS,
                resource_type="User",
                resource_id=long_user.id,
                resource_name=long_user.user_name,
                client=long_word(255),
            ),
        ]
    )
    AuditEvent.objects.create(
        org=org,
        actor=long_word(254),
        via=AuditEvent.Via.CONSOLE,
        ip="2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        action="token.issue",
        target=long_word(255),
    )
    token_issue(directory=directory, name=long_word(100), actor=OPERATOR)
    api_key_issue(user=admin, name=long_word(100))
    # A webhook endpoint with a long URL, its own words, and a failed delivery.
    endpoint = WebhookEndpoint.objects.create(
        org=org,
        url=f"https://hooks.example.com/{long_word(300)}?token={long_word(100)}",
        description=long_word(200),
        event_types=list(ChangeEvent.Type.values),
        failures=3,
        failing_since=now,
        next_attempt_at=now,
    )
    WebhookSecret.objects.create(
        endpoint=endpoint, secret="whsec_" + "A" * 43, prefix="whsec_AAAAAA"
    )
    change = ChangeEvent.objects.create(
        org=org, type=ChangeEvent.Type.USER_CREATED, resource_type="User", resource_id=long_user.id
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        change=change,
        attempt=3,
        status=500,
        latency_ms=5000,
        error=f"Could not reach hooks.example.com: {long_word(300)}",
        response_excerpt=long_word(1024),
    )
    return Crowded(long_user=long_user, long_group=long_group, request=request, endpoint=endpoint)
