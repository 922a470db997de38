"""The sign-in gate (directory.services.signin): one decision for every protocol, with a
reason code for every refusal, linking by subject, just-in-time creation, and an event
for every attempt. The protocol tests drive the same service through real IdPs."""

from __future__ import annotations

import pytest

from directory.models import EndUser, Org, ProvisioningEvent, SigninRefusal, Source
from directory.services import org_access_groups_set, seat_revoke
from directory.services.groups import group_create
from directory.services.sessions import access_decision, session_start, session_user
from directory.services.signin import Identity, signin
from directory.services.user_fields import UserFields
from directory.services.users import user_create, user_update
from tests.actors import OPERATOR
from tests.signin.conftest import make_ready


def _alice(**kwargs: object) -> Identity:
    values: dict[str, object] = {"subject": "00u-alice", "user_name": "alice@acme.example"}
    values.update(kwargs)
    return Identity(**values)  # type: ignore[arg-type]


def _user(org: Org, name: str = "alice@acme.example", **kwargs: object) -> EndUser:
    return user_create(org=org, fields=UserFields(user_name=name, **kwargs), actor=OPERATOR)  # type: ignore[arg-type]


def _events(org: Org) -> list[ProvisioningEvent]:
    return list(org.events.filter(action="signin").order_by("id"))


def test_sign_in_is_refused_until_the_idp_is_set_up(org: Org) -> None:
    decision = signin(org=org, identity=_alice(), protocol="saml")
    assert decision.reason == SigninRefusal.SSO_NOT_CONFIGURED
    from directory.services.idp import idp_configure

    idp_configure(
        org=org, provider="okta", protocol="saml", actor=OPERATOR
    )  # as scripts do: no metadata
    assert signin(org=org, identity=_alice(), protocol="saml").reason == "SSO_NOT_CONFIGURED"
    assert [e.outcome for e in _events(org)] == ["failure", "failure"]


def test_a_provisioned_user_signs_in_and_is_linked_to_the_subject(org: Org) -> None:
    make_ready(org)
    user = _user(org, "Alice@Acme.example")
    decision = signin(org=org, identity=_alice(), protocol="saml", client="203.0.113.9")
    assert decision.allowed and decision.user == user
    user.refresh_from_db()
    assert user.idp_subject == "00u-alice" and user.last_signin_at is not None
    (event,) = _events(org)
    assert (event.outcome, event.resource_id, event.client) == ("success", user.id, "203.0.113.9")


def test_the_case_rule_is_scims(org: Org) -> None:
    make_ready(org)
    user = _user(org, "İrem@acme.example")
    decision = signin(org=org, identity=_alice(user_name="i̇rem@ACME.example"), protocol="oidc")
    assert decision.user == user


def test_a_reassigned_email_cannot_take_over_a_linked_account(org: Org) -> None:
    make_ready(org)
    _user(org)
    assert signin(org=org, identity=_alice(), protocol="saml").allowed
    intruder = _alice(subject="00u-someone-else")
    decision = signin(org=org, identity=intruder, protocol="saml")
    assert decision.reason == SigninRefusal.USER_NOT_PROVISIONED
    assert "linked to another identity" in decision.message
    # The owner, by subject, still signs in, even after the IdP renamed them.
    assert signin(org=org, identity=_alice(user_name="a.new@acme.example"), protocol="saml").allowed


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("deactivated", SigninRefusal.USER_DISABLED),
        ("unseated", SigninRefusal.NO_SEAT),
        ("outside_groups", SigninRefusal.NOT_IN_ACCESS_GROUPS),
    ],
)
def test_each_refusal_has_its_reason(org: Org, directory: object, setup: str, reason: str) -> None:
    make_ready(org)
    user = _user(org)
    if setup == "deactivated":
        user_update(
            user=user, fields=UserFields(user_name=user.user_name, active=False), actor=OPERATOR
        )
    elif setup == "unseated":
        seat_revoke(user=user, actor=OPERATOR)
    else:
        group_create(org=org, display_name="Engineering", member_ids=[], actor=OPERATOR)
        org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    decision = signin(org=org, identity=_alice(), protocol="saml")
    assert decision.reason == reason
    user.refresh_from_db()
    assert user.idp_subject is None  # a refused sign-in links nothing
    (event,) = _events(org)
    assert event.outcome == "failure" and event.details["reason"] == reason


def test_with_scim_on_an_unknown_user_is_not_provisioned_even_with_jit(
    org: Org, directory: object
) -> None:
    make_ready(org, jit=True)
    decision = signin(org=org, identity=_alice(), protocol="saml")
    assert decision.reason == SigninRefusal.USER_NOT_PROVISIONED
    assert not org.users.exists()
    (event,) = _events(org)
    assert event.resource_name == "alice@acme.example"  # who tried, though nobody matched


def test_without_scim_jit_off_refuses_and_jit_on_creates(org: Org) -> None:
    make_ready(org, jit=False)
    assert signin(org=org, identity=_alice(), protocol="oidc").reason == "USER_NOT_PROVISIONED"
    make_ready(org, jit=True)
    identity = _alice(given_name="Alice", family_name="Liddell", email="alice@acme.example")
    decision = signin(org=org, identity=identity, protocol="oidc")
    assert decision.allowed
    user = org.users.get()
    assert (user.source, user.given_name, user.primary_email, user.has_seat) == (
        Source.JIT,
        "Alice",
        "alice@acme.example",
        True,
    )
    # Updated from the IdP at each sign-in.
    signin(org=org, identity=_alice(given_name="Ally"), protocol="oidc")
    user.refresh_from_db()
    assert user.given_name == "Ally"


def test_a_jit_user_who_would_be_refused_is_not_created(org: Org) -> None:
    make_ready(org, jit=True)
    org.seats = 0
    org.save()
    decision = signin(org=org, identity=_alice(), protocol="saml")
    assert decision.reason == SigninRefusal.NO_SEAT
    assert not org.users.exists()
    assert org.events.filter(action="user_create").count() == 0


def test_another_orgs_user_is_never_found(org: Org, other_org: Org) -> None:
    make_ready(org)
    _user(other_org)
    assert signin(org=org, identity=_alice(), protocol="saml").reason == "USER_NOT_PROVISIONED"


def test_a_session_ends_as_soon_as_the_user_loses_access(org: Org, directory: object) -> None:
    make_ready(org)
    user = _user(org)
    other = _user(org, "bob@acme.example")
    tokens = {u.pk: session_start(user=u, protocol="saml") for u in (user, other)}
    decision = session_user(tokens[user.pk])
    assert decision is not None and decision.allowed
    user_update(
        user=user, fields=UserFields(user_name=user.user_name, active=False), actor=OPERATOR
    )
    assert session_user(tokens[user.pk]) is None
    assert user.sessions.count() == 0
    seat_revoke(user=other, actor=OPERATOR)
    assert session_user(tokens[other.pk]) is None


def test_access_groups_sign_out_whoever_they_shut_out(org: Org) -> None:
    make_ready(org)
    inside, outside = _user(org), _user(org, "bob@acme.example")
    group_create(org=org, display_name="Engineering", member_ids=[str(inside.pk)], actor=OPERATOR)
    tokens = {u.pk: session_start(user=u, protocol="saml") for u in (inside, outside)}
    org_access_groups_set(org=org, names=["Engineering"], actor=OPERATOR)
    assert session_user(tokens[outside.pk]) is None
    decision = session_user(tokens[inside.pk])
    assert decision is not None and decision.allowed


def test_a_change_made_behind_the_services_back_is_caught_at_the_next_request(
    org: Org,
) -> None:
    user = _user(org)
    token = session_start(user=user, protocol="saml")
    EndUser.objects.filter(pk=user.pk).update(active=False)  # a shell, a migration
    decision = session_user(token)
    assert decision is not None and decision.reason == SigninRefusal.USER_DISABLED
    assert session_user(token) is None


def test_access_decision_writes_nothing(org: Org) -> None:
    user = _user(org)
    before = org.events.count()
    assert access_decision(user).allowed
    assert org.events.count() == before


def test_a_one_time_value_is_used_once_and_only_before_it_expires(org: Org, other_org: Org) -> None:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from directory.services.signin_state import assertion_first_use, nonce_put, nonce_take

    nonce_put(org=org, kind="authn_request", key="ONELOGIN_1", ttl=timedelta(minutes=5))
    assert nonce_take(org=other_org, kind="authn_request", key="ONELOGIN_1") is None
    assert nonce_take(org=org, kind="authn_request", key="ONELOGIN_1") == {}
    assert nonce_take(org=org, kind="authn_request", key="ONELOGIN_1") is None
    nonce_put(org=org, kind="oidc_state", key="s", ttl=timedelta(minutes=5), data={"nonce": "n"})
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert nonce_take(org=org, kind="oidc_state", key="s") is None
    until = timezone.now() + timedelta(minutes=3)
    assert assertion_first_use(org=org, assertion_id="_a1", until=until)
    assert not assertion_first_use(org=org, assertion_id="_a1", until=until)
    assert assertion_first_use(org=other_org, assertion_id="_a1", until=until)


def test_scim_takes_over_a_user_created_at_sign_in(org: Org) -> None:
    from directory.services import scim_enable
    from tests.scim.conftest import ScimClient, okta_user
    from tokens.services import token_issue

    make_ready(org, jit=True)
    jit_user = signin(org=org, identity=_alice(), protocol="saml").user
    assert jit_user is not None and jit_user.source == Source.JIT
    directory = scim_enable(org=org, actor=OPERATOR)
    scim = ScimClient(directory, token_issue(directory=directory, name="Okta").plaintext)
    r = scim.post("/Users", okta_user("ALICE@acme.example"))
    assert r.status_code == 201, r.content
    assert r.json()["id"] == str(jit_user.pk)
    user = org.users.get()
    assert (user.source, user.directory_id, user.idp_subject) == (
        Source.SCIM,
        directory.id,
        "00u-alice",
    )
    # And the same person keeps signing in, now as a SCIM user.
    assert signin(org=org, identity=_alice(), protocol="saml").allowed


def test_the_api_answers_what_the_gate_decides(org: Org, other_org: Org, directory: object) -> None:
    from django.contrib.auth.models import User

    from directory.services import org_admin_add
    from tests.api.test_api import client_for

    admin = org_admin_add(org=org, email="alice.admin@acme.example")[0].user
    intruder = org_admin_add(org=other_org, email="bob@globex.example")[0].user
    assert isinstance(admin, User)
    user = _user(org)
    api = client_for(admin)
    r = api.get(f"/api/v1/orgs/acme/users/{user.pk}/access/")
    assert r.status_code == 200
    assert r.json() == {"allowed": True, "reason": None, "message": ""}
    seat_revoke(user=user, actor=OPERATOR)
    body = api.get(f"/api/v1/orgs/acme/users/{user.pk}/access/").json()
    assert (body["allowed"], body["reason"]) == (False, "NO_SEAT")
    assert "seat" in body["message"]
    assert client_for(intruder).get(f"/api/v1/orgs/acme/users/{user.pk}/access/").status_code in (
        403,
        404,
    )
    assert (
        client_for(intruder).get(f"/api/v1/orgs/globex/users/{user.pk}/access/").status_code == 404
    )
