"""End-user sign-in: the gate that decides each one, and the sessions it opens.

The protocols (SAML, OIDC: the signin app) verify what the IdP sent and hand over an
Identity; everything after that is decided here, once, for every protocol and every
source of users (SCIM, LDAP, manual, JIT):

    signin(org, identity)        the decision, with the user linked (or created just in
                                 time) and an event; a refused sign-in writes nothing else
    signin_refuse(org, reason)   an attempt refused before there was an identity (an
                                 invalid response, sign-in not set up): its event

access_decision and the sessions are in directory.services.sessions.

The rules, in order: sign-in must be set up (SSO_NOT_CONFIGURED); the user must be in
the directory, or be created just in time where the org allows it
(USER_NOT_PROVISIONED); active (USER_DISABLED); inside the access groups
(NOT_IN_ACCESS_GROUPS); holding a seat (NO_SEAT).

Linking: a sign-in is matched by the IdP's subject first; a user without one is matched
by userName under the SCIM case rule (directory.names) and the subject is then recorded,
so a later sign-in with the same userName but another subject (an email address
reassigned at the IdP) is refused instead of taking the account over.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from directory.audit import signin_actor
from directory.errors import DirectoryError
from directory.models import (
    EndUser,
    IdentityProvider,
    Org,
    ProvisioningEvent,
    SigninRefusal,
    Source,
)
from directory.names import user_name_key
from directory.services.changes import Type, change_anonymous, change_user
from directory.services.events import event_record
from directory.services.sessions import Decision, access_decision
from directory.services.user_fields import USER_FIELD_NAMES, UserFields
from directory.services.users import user_create, user_update


@dataclass(frozen=True)
class Identity:
    """Who the IdP says signed in, from a verified response."""

    subject: str  # SAML NameID, OIDC `sub`
    user_name: str  # what is matched to userName: the NameID, or the configured claim
    email: str = ""
    given_name: str = ""
    family_name: str = ""
    display_name: str = ""


class _Refused(Exception):
    def __init__(self, decision: Decision) -> None:
        self.decision = decision


def _scim_on(org: Org) -> bool:
    return org.scim_directories.filter(deleted_at__isnull=True, enabled=True).exists()


def _find(org: Org, identity: Identity) -> tuple[EndUser | None, str]:
    """The user this identity is, and why not when a user has the name but is linked
    to another subject."""
    by_subject = org.users.filter(idp_subject=identity.subject).first()
    if by_subject is not None:
        return by_subject, ""
    named = org.users.filter(user_name_key=user_name_key(identity.user_name.strip())).first()
    if named is not None and named.idp_subject is not None:
        return None, (
            f"{identity.user_name} is linked to another identity at the IdP "
            f"(subject {named.idp_subject!r}, not {identity.subject!r})"
        )
    return named, ""


def _jit_fields(identity: Identity, base: UserFields | None = None) -> UserFields:
    """A just-in-time user's attributes: the IdP's, over what the user has."""
    fields = base or UserFields(user_name=identity.user_name.strip())
    fields.given_name = identity.given_name[:255] or fields.given_name
    fields.family_name = identity.family_name[:255] or fields.family_name
    fields.display_name = identity.display_name[:255] or fields.display_name
    if identity.email:
        fields.emails = [{"value": identity.email[:254], "type": "work", "primary": True}]
    return fields


def _refresh_jit_user(user: EndUser, identity: Identity, client: str) -> EndUser:
    """A JIT user's attributes follow the IdP's at each sign-in (SCIM users are SCIM's)."""
    current = UserFields(**{name: getattr(user, name) for name in USER_FIELD_NAMES})
    wanted = _jit_fields(identity, UserFields(**vars(current)))
    wanted.user_name = user.user_name  # matched by subject: the name stays as it is
    if identity.email and user.primary_email == identity.email:
        wanted.emails = current.emails
    if wanted == current:
        return user
    return user_update(user=user, fields=wanted, actor=signin_actor(ip=client)).user


def signin(*, org: Org, identity: Identity, protocol: str, client: str = "") -> Decision:
    """Decide a sign-in by `identity` (verified by the protocol) and record it. Allowed:
    the user is linked to the subject and its last sign-in recorded. Refused: nothing
    but the event is written (no half-linked account, no user created)."""
    idp = IdentityProvider.objects.filter(org=org).first()
    if idp is None or not idp.signin_ready:
        return signin_refuse(
            org=org, reason=SigninRefusal.SSO_NOT_CONFIGURED, protocol=protocol, client=client
        )
    if not identity.subject.strip() or not identity.user_name.strip():
        return signin_refuse(
            org=org,
            reason=SigninRefusal.INVALID_RESPONSE,
            protocol=protocol,
            message="The response names no subject or no user name",
            client=client,
        )
    try:
        with transaction.atomic():
            decision = _signin_decide(org=org, idp=idp, identity=identity, client=client)
            if not decision.allowed:
                raise _Refused(decision)
            _signin_event(
                org=org, decision=decision, protocol=protocol, client=client, identity=identity
            )
            return decision
    except _Refused as refused:
        decision = refused.decision
    with transaction.atomic():
        _signin_event(
            org=org, decision=decision, protocol=protocol, client=client, identity=identity
        )
    return decision


def _signin_decide(*, org: Org, idp: IdentityProvider, identity: Identity, client: str) -> Decision:
    user, mismatch = _find(org, identity)
    created = False
    if mismatch:
        return Decision(None, SigninRefusal.USER_NOT_PROVISIONED, mismatch)
    if user is None:
        scim_on = _scim_on(org)
        if scim_on or not idp.jit:
            why = "SCIM provisions this org's users" if scim_on else "Just-in-time creation is off"
            return Decision(None, SigninRefusal.USER_NOT_PROVISIONED, why)
        try:
            user = user_create(
                org=org,
                fields=_jit_fields(identity),
                source=Source.JIT,
                actor=signin_actor(ip=client),
            )
        except DirectoryError as e:
            return Decision(None, SigninRefusal.USER_NOT_PROVISIONED, str(e))
        created = True
    elif user.source == Source.JIT and user.active and user.removed_by_idp_at is None:
        user = _refresh_jit_user(user, identity, client)
    decision = access_decision(user)
    if not decision.allowed:
        # A user created just now is rolled back with the refusal: no ghost account
        # for SCIM to collide with later.
        why = "Not created: just-in-time users need a free seat and access" if created else ""
        return Decision(None if created else user, decision.reason, why)
    user.idp_subject = identity.subject[:255]
    user.last_signin_at = timezone.now()
    # Not a change of the resource: its version (SCIM's ETag) stays.
    user.save(update_fields=["idp_subject", "last_signin_at"])
    return Decision(user)


def _signin_event(
    *, org: Org, decision: Decision, protocol: str, client: str, identity: Identity | None
) -> None:
    user = decision.user
    if decision.allowed:
        outcome, message = ProvisioningEvent.Outcome.SUCCESS, f"Signed in with {protocol.upper()}"
    else:
        outcome, message = ProvisioningEvent.Outcome.FAILURE, f"Refused: {decision.reason}"
        if decision.message:
            message += f" ({decision.message})"
    details: dict[str, str] = {"protocol": protocol}
    if decision.reason:
        details["reason"] = decision.reason
    if identity is not None:
        details["subject"] = identity.subject[:255]
    name = user.user_name if user is not None else (identity.user_name if identity else "")
    event_record(
        org=org,
        action=ProvisioningEvent.Action.SIGNIN,
        outcome=outcome,
        resource_type="User" if name else "",
        resource_id=user.pk if user is not None else None,
        resource_name=name,
        message=message,
        actor=signin_actor(ip=client),
        details=details,
    )
    extra = {"protocol": protocol} | ({"reason": decision.reason} if decision.reason else {})
    type = Type.SIGNIN_SUCCEEDED if decision.allowed else Type.SIGNIN_FAILED
    if user is not None:
        change_user(user=user, type=type, **extra)
    else:
        change_anonymous(org=org, type=type, user_name=name, **extra)


def signin_refuse(
    *, org: Org, reason: str, protocol: str, message: str = "", client: str = ""
) -> Decision:
    """Record an attempt refused before an identity was known (INVALID_RESPONSE,
    SSO_NOT_CONFIGURED) and return its decision."""
    decision = Decision(None, reason, message)
    with transaction.atomic():
        _signin_event(org=org, decision=decision, protocol=protocol, client=client, identity=None)
    return decision
