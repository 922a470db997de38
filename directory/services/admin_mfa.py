"""Console admins' second factor (django-otp): a TOTP authenticator app, and ten
single-use recovery codes for when the phone is lost; whether an admin must have one
(any org of theirs requiring it); and the audit trail of admin sign-ins, enrolments and
resets, written to every org the admin administers (each org's audit log shows what
happened to its admins)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from directory.audit import Actor, audit_record
from directory.models import Org

RECOVERY_CODES = 10


def _audit_everywhere(user: User, actor: Actor, action: str) -> None:
    for org in Org.objects.filter(admins__user=user):
        audit_record(org=org, actor=actor, action=action, target=user.username)


def admin_mfa_enrolled(*, user: User) -> bool:
    """Whether the admin has a confirmed second factor (one query: an enrolment always
    confirms a TOTP device, the recovery codes come with it)."""
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def admin_mfa_required(*, user: User) -> bool:
    """Whether an org the admin administers requires a second factor of its admins."""
    return Org.objects.filter(admins__user=user, admins_need_mfa=True).exists()


def admin_totp_secret(device: TOTPDevice) -> str:
    """The device's key as the base32 text an app takes when the QR code cannot be read."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def admin_totp_start(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device the admin is adding to an authenticator app (its
    config_url is the otpauth:// URI the QR code carries): the one already pending, so a
    mistyped code keeps the key the app has, or a new one. A confirmed device stays until
    the new one is confirmed."""
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return pending or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False
    )


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    recovery_codes: list[str]


@transaction.atomic
def admin_totp_confirm(*, user: User, token: str, actor: Actor) -> Enrolment | None:
    """Confirm the admin's pending TOTP device with a code from the app. On success the
    device replaces any earlier second factor, ten new recovery codes are made (returned
    once: they are stored as given, like django-otp's, and shown only now) and the
    enrolment is audited; None when the code is wrong or nothing is pending."""
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if pending is None or not pending.verify_token(token.strip().replace(" ", "")):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    StaticDevice.objects.filter(user=user).delete()
    pending.confirmed = True
    pending.save(update_fields=["confirmed"])
    static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=pending.pk).delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    _audit_everywhere(user, actor, "admin.mfa_enrol")
    return Enrolment(device=pending, recovery_codes=codes)


def admin_mfa_verify(*, user: User, token: str, actor: Actor) -> Device | None:
    """The admin's device that accepts this code (a TOTP code, or a recovery code, which
    is used up), for django_otp.login; None when none does. A recovery code's use is
    audited, as a sign-in that lost the phone."""
    code = token.strip().replace(" ", "")
    if not code:
        return None
    for device in devices_for_user(user, confirmed=True):
        if device.verify_token(code):
            if isinstance(device, StaticDevice):
                _audit_everywhere(user, actor, "admin.mfa_recovery_code")
            return device
    return None


@transaction.atomic
def admin_mfa_reset(*, user: User, actor: Actor) -> None:
    """Remove the admin's second factor (app and recovery codes); audited. An admin of
    an org that requires one is asked to enrol again at their next page."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _audit_everywhere(user, actor, "admin.mfa_reset")


def admin_signin_record(*, user: User, actor: Actor, step: str) -> None:
    """Audit an admin's sign-in to the console: `step` "password" (the password was
    right) or "mfa" (then the second factor too)."""
    _audit_everywhere(user, actor, f"admin.signin_{step}")
