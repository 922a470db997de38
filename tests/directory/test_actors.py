"""Every directory write that leaves a trace (an audit entry or a provisioning event)
says who made it: `actor` is a required keyword of each, never a default of None."""

from __future__ import annotations

import inspect

from directory import services
from directory.audit import Actor, operator_actor, scim_actor
from directory.models import Org
from directory.services import UserFields, user_create
from tests.actors import OPERATOR

# Writes that record neither an audit entry nor a provisioning event.
UNRECORDED = {
    "org_create",
    "org_update",
    "org_admin_add",
    "org_admin_summaries_set",
    "admin_totp_start",  # an unconfirmed device: the enrolment is audited when confirmed
}


def test_every_recorded_service_write_requires_an_actor() -> None:
    writes = {
        name: obj for name in services.__all__ if inspect.isfunction(obj := getattr(services, name))
    }
    assert UNRECORDED <= set(writes)
    for name, write in writes.items():
        params = inspect.signature(write).parameters
        if name in UNRECORDED:
            assert "actor" not in params, name
            continue
        actor = params.get("actor")
        assert actor is not None, f"{name} takes no actor"
        assert actor.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert actor.default is inspect.Parameter.empty, f"{name}: actor has a default"


def test_an_event_names_a_scim_client_by_its_user_agent_and_anyone_else_by_interface(
    org: Org,
) -> None:
    okta = scim_actor(user_agent="Okta SCIM Client 1.0.0", ip="10.0.0.1")
    alice = Actor(who="alice@acme.example", via="console", ip="10.1.2.3")
    user_create(org=org, fields=UserFields(user_name="a@acme.example"), actor=okta)
    user_create(org=org, fields=UserFields(user_name="b@acme.example"), actor=alice)
    user_create(org=org, fields=UserFields(user_name="c@acme.example"), actor=OPERATOR)
    clients = dict(org.events.values_list("resource_name", "client"))
    assert clients == {
        "a@acme.example": "Okta SCIM Client 1.0.0",
        "b@acme.example": "console: alice@acme.example",
        "c@acme.example": "cli: operator pytest",
    }


def test_the_operator_is_the_shell_account() -> None:
    actor = operator_actor()
    assert actor.via == "cli" and actor.who.startswith("operator ") and actor.ip is None
