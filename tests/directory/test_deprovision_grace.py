"""The third deprovisioning policy, "disable, then delete after N days": the IdP's
deactivation disables the user at once (signed out, seat freed), the scheduler deletes it
when the grace period has run out, and a reactivation in between keeps it. Set through
every interface: CLI, console, API."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from directory.errors import InvalidValue
from directory.models import Org, ScimDirectory
from directory.services import org_deprovision_set
from directory.services.users import users_grace_expired_delete
from tests.actors import OPERATOR
from tests.api.test_api import client_for
from tests.scim.conftest import ScimClient, okta_user


@pytest.fixture
def scim(directory: ScimDirectory, token: str) -> ScimClient:
    return ScimClient(directory, token)


def _deactivate(scim: ScimClient, user_id: str) -> None:
    r = scim.patch_ops(f"/Users/{user_id}", {"op": "replace", "path": "active", "value": False})
    assert r.status_code == 200, r.content


def test_a_deactivated_user_is_kept_for_the_grace_period_then_deleted(
    org: Org, scim: ScimClient
) -> None:
    org_deprovision_set(org=org, deprovision="disable-then-delete", grace_days=7, actor=OPERATOR)
    alice = scim.post("/Users", okta_user("alice@acme.example")).json()
    bob = scim.post("/Users", okta_user("bob@acme.example")).json()
    start = timezone.now()
    _deactivate(scim, alice["id"])
    user = org.users.get(pk=alice["id"])
    assert (user.active, user.has_seat) == (False, False)
    assert "deleted in 7 days" in org.events.filter(action="user_deactivate").get().message
    with time_machine.travel(start + timedelta(days=6, hours=23)):
        assert users_grace_expired_delete() == 0
    with time_machine.travel(start + timedelta(days=7, minutes=1)):
        assert users_grace_expired_delete() == 1
    assert not org.users.filter(pk=alice["id"]).exists()
    assert org.users.filter(pk=bob["id"]).exists()
    event = org.events.filter(action="user_delete").get()
    assert event.client == "system: deprovisioning grace period" and "7 days" in event.message


def test_reactivation_within_the_grace_period_keeps_the_user(org: Org, scim: ScimClient) -> None:
    org_deprovision_set(org=org, deprovision="disable-then-delete", grace_days=3, actor=OPERATOR)
    alice = scim.post("/Users", okta_user("alice@acme.example")).json()
    start = timezone.now()
    _deactivate(scim, alice["id"])
    r = scim.patch_ops(f"/Users/{alice['id']}", {"op": "replace", "path": "active", "value": True})
    assert r.status_code == 200
    with time_machine.travel(start + timedelta(days=30)):
        assert users_grace_expired_delete() == 0
    assert org.users.get(pk=alice["id"]).disabled_at is None


def test_a_user_the_idp_deletes_is_also_deleted_after_the_grace_period(
    org: Org, scim: ScimClient
) -> None:
    org_deprovision_set(org=org, deprovision="disable-then-delete", grace_days=1, actor=OPERATOR)
    alice = scim.post("/Users", okta_user("alice@acme.example")).json()
    start = timezone.now()
    assert scim.delete(f"/Users/{alice['id']}").status_code == 204
    assert org.users.filter(pk=alice["id"]).exists()  # kept, disabled, for now
    with time_machine.travel(start + timedelta(days=1, minutes=1)):
        assert users_grace_expired_delete() == 1


def test_other_policies_and_other_orgs_are_left_alone(
    org: Org, other_org: Org, scim: ScimClient
) -> None:
    org_deprovision_set(org=other_org, deprovision="disable-then-delete", actor=OPERATOR)
    alice = scim.post("/Users", okta_user("alice@acme.example")).json()
    start = timezone.now()
    _deactivate(scim, alice["id"])  # org's policy: disable
    with time_machine.travel(start + timedelta(days=400)):
        assert users_grace_expired_delete() == 0


@pytest.mark.parametrize("days", [0, -1, 3651, True])
def test_the_grace_period_is_one_to_3650_days(org: Org, days: int) -> None:
    with pytest.raises(InvalidValue, match="1 to 3650 days"):
        org_deprovision_set(
            org=org, deprovision="disable-then-delete", grace_days=days, actor=OPERATOR
        )
    org.refresh_from_db()
    assert (org.deprovision, org.deprovision_grace_days) == ("disable", 30)


def test_the_cli_sets_it(org: Org) -> None:
    out = io.StringIO()
    call_command(
        "scim", "policy", "acme", "--deprovision", "disable-then-delete", "--grace-days", "14",
        stdout=out,
    )  # fmt: skip
    assert "delete after 14 days" in out.getvalue()
    org.refresh_from_db()
    assert (org.deprovision, org.deprovision_grace_days) == ("disable-then-delete", 14)
    with pytest.raises(CommandError, match="goes with --deprovision disable-then-delete"):
        call_command("scim", "policy", "acme", "--deprovision", "delete", "--grace-days", "3")
    org.refresh_from_db()
    assert org.deprovision == "disable-then-delete"


def test_the_console_sets_it(admin: User, org: Org) -> None:
    console = Client()
    console.force_login(admin)
    r = console.post(
        "/o/acme/settings/deprovisioning/",
        {"deprovision": "disable-then-delete", "grace_days": "10", "confirmed": "on"},
    )
    assert r.status_code == 302
    org.refresh_from_db()
    assert (org.deprovision, org.deprovision_grace_days) == ("disable-then-delete", 10)
    assert org.audit_events.filter(action="org.deprovision").get().target.endswith("10 days")
    page = console.get("/o/acme/settings/").content.decode()
    assert re.search(r'value="disable-then-delete"[^>]*checked', page)
    assert re.search(r'name="grace_days"[^>]*value="10"|value="10"[^>]*name="grace_days"', page)


def test_the_api_sets_it_and_another_orgs_admin_cannot(
    admin: User, other_admin: User, org: Org
) -> None:
    body = {"deprovision": "disable-then-delete", "deprovision_grace_days": 5}
    r = client_for(admin).patch("/api/v1/orgs/acme/", body, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["deprovision_grace_days"] == 5
    r = client_for(other_admin).patch(
        "/api/v1/orgs/acme/", {"deprovision": "delete"}, format="json"
    )
    assert r.status_code in (403, 404)
    org.refresh_from_db()
    assert (org.deprovision, org.deprovision_grace_days) == ("disable-then-delete", 5)
