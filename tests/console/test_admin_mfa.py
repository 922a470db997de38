"""Console admins' second factor: set up with an authenticator app (real TOTP codes) and
recovery codes, asked at every sign-in, required by an org of all its admins, reset;
and the audit log recording each step, in every org the admin administers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from directory.models import AuditEvent, Org
from directory.services import org_admin_add, org_admin_mfa_set
from tests.actors import OPERATOR
from tokens.services import api_key_issue

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-console-password"


def _code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user)
    return str(TOTP(device.bin_key, device.step, device.t0, device.digits).token()).zfill(6)


def _signed_in(user: User) -> Client:
    client = Client()
    r = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert r.status_code == 302, r.content
    return client


@pytest.fixture
def alice(admin: User, other_org: Org) -> User:
    admin.set_password(PASSWORD)
    admin.save()
    org_admin_add(org=other_org, email=admin.username)  # an admin of two orgs
    return admin


def _enrol(client: Client, user: User) -> list[str]:
    setup = client.get("/account/mfa/setup/")
    assert setup.status_code == 200 and b"<svg" in setup.content
    assert setup["Cache-Control"] == "no-store"
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.content.decode())
    wrong = client.post("/account/mfa/setup/", {"code": "000000"})
    assert b"That code is not the app" in wrong.content
    assert secret and secret.group(1).encode() in wrong.content  # the same key: retype
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):  # past the throttle
        done = client.post("/account/mfa/setup/", {"code": _code(user), "next": "/o/acme/"})
    assert done.status_code == 200 and b"shown only this once" in done.content
    return re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())


def _actions(org: Org) -> list[str]:
    return list(
        AuditEvent.objects.filter(org=org, action__startswith="admin.")
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_an_admin_sets_up_a_second_factor_and_is_asked_for_it_at_each_sign_in(
    alice: User, org: Org, other_org: Org
) -> None:
    first = _signed_in(alice)
    assert first.get("/o/acme/").status_code == 200  # nothing set up, nothing required
    codes = _enrol(first, alice)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert first.get("/o/acme/").status_code == 200  # this session passed it

    with time_machine.travel(timezone.now() + timedelta(seconds=60)):
        second = _signed_in(alice)
        r = second.get("/o/acme/users/?q=ada")
        assert r.status_code == 302
        assert r["Location"] == "/account/mfa/?next=%2Fo%2Facme%2Fusers%2F%3Fq%3Dada"
        assert second.get("/account/api-keys/").status_code == 302  # the account too
        wrong = second.post("/account/mfa/", {"code": "123456", "next": "/o/acme/users/"})
        assert b"Wrong code" in wrong.content
    with time_machine.travel(timezone.now() + timedelta(seconds=63)):  # past the throttle
        r = second.post("/account/mfa/", {"code": _code(alice), "next": "/o/acme/users/"})
        assert r["Location"] == "/o/acme/users/"
        assert second.get("/o/acme/users/").status_code == 200
        # A code passes once: the same one again is refused.
        third = _signed_in(alice)
        assert b"Wrong code" in third.post("/account/mfa/", {"code": _code(alice)}).content

    with time_machine.travel(timezone.now() + timedelta(seconds=130)):  # past the throttle
        lost_phone = _signed_in(alice)
        r = lost_phone.post("/account/mfa/", {"code": codes[0], "next": "https://evil.example/"})
        assert r["Location"] == "/"  # only a path of ours
        again = _signed_in(alice)
        assert b"Wrong code" in again.post("/account/mfa/", {"code": codes[0]}).content

    for o in (org, other_org):
        assert _actions(o) == [
            "admin.signin_password",
            "admin.mfa_enrol",
            "admin.signin_password",
            "admin.signin_mfa",
            "admin.signin_password",
            "admin.signin_password",
            "admin.mfa_recovery_code",
            "admin.signin_mfa",
            "admin.signin_password",
        ]
    audit = first.get("/o/acme/settings/audit/").content.decode()
    assert "Admin set up a second factor" in audit and "Admin used a recovery code" in audit


def test_an_org_requires_it_of_every_admin_and_another_org_cannot_change_that(
    alice: User, org: Org, other_admin: User
) -> None:
    page = _signed_in(alice).get("/o/acme/settings/admin/").content.decode()
    assert "Require a second factor of every admin of this org" in page
    intruder = Client()
    intruder.force_login(other_admin)
    assert intruder.get("/o/acme/settings/admin/").status_code == 404
    assert intruder.post("/o/acme/settings/admin/", {"required": "on"}).status_code == 404
    org.refresh_from_db()
    assert not org.admins_need_mfa

    console = _signed_in(alice)
    r = console.post("/o/acme/settings/admin/", {"required": "on"})
    assert r["Location"] == "/o/acme/settings/admin/"
    org.refresh_from_db()
    assert org.admins_need_mfa
    assert AuditEvent.objects.get(org=org, action="org.admin_mfa").target == "on"
    # From the next page on, this admin (none set up) is sent to set one up.
    r = console.get("/o/globex/")  # in any org of theirs
    assert r["Location"] == "/account/mfa/setup/?next=%2Fo%2Fglobex%2F"
    assert b"requires it" in console.get("/account/mfa/setup/").content
    _enrol(console, alice)
    assert console.get("/o/globex/").status_code == 200
    # The other org's admin is not asked: it is not their org's rule.
    assert intruder.get("/o/globex/").status_code == 200


def test_a_reset_removes_the_factor_and_the_api_keys_are_not_asked(alice: User, org: Org) -> None:
    console = _signed_in(alice)
    codes = _enrol(console, alice)
    key = api_key_issue(user=alice).plaintext
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/orgs/acme/").status_code == 200  # bearer keys: no second factor

    account = console.get("/account/api-keys/").content.decode()
    assert "You sign in with an authenticator app" in account
    r = console.post("/account/mfa/reset/", follow=True)
    assert b"Your second factor is removed" in r.content
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert "admin.mfa_reset" in _actions(org)
    later = _signed_in(alice)
    assert later.get("/o/acme/").status_code == 200  # not asked any more
    assert later.get("/account/mfa/").status_code == 302  # nothing to verify: set up
    assert codes  # and the old recovery codes are gone with the device
    org_admin_mfa_set(org=org, required=True, actor=OPERATOR)
    assert b"it can be replaced, not removed" not in later.get("/account/mfa/setup/").content
