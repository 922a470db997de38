"""End-user sessions, and the access check that every sign-in and every request of a
signed-in user passes (directory.services.signin decides sign-ins on top of it).

    access_decision(user)     whether a known user may use the org's services now:
                              active, inside the access groups, holding a seat
    session_start(user)       a new session; returns the token the browser keeps
    session_user(token)       the session's user, checked again: a user who lost access
                              since is signed out at their next request
    session_end(token)        signing out
    sessions_end(users)       what takes a user's access away ends their sessions at once

Sessions are rows of EndUserSession, apart from the console's Django sessions: an end user
is a directory record, never a Django user, and cannot reach the console.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from directory.models import EndUser, EndUserSession, SigninRefusal

SESSION_TOKEN_BYTES = 32


@dataclass(frozen=True)
class Decision:
    """A sign-in's (or an access check's) outcome."""

    user: EndUser | None
    reason: str = ""  # "" when allowed, else a SigninRefusal
    message: str = ""

    @property
    def allowed(self) -> bool:
        return not self.reason


_REFUSAL_MESSAGES: dict[str, str] = {
    SigninRefusal.USER_NOT_PROVISIONED: (
        "You are not in this organization's directory. Ask its administrator to assign "
        "you to the application in the identity provider."
    ),
    SigninRefusal.USER_DISABLED: (
        "Your account is deactivated. Ask the organization's administrator to reactivate it."
    ),
    SigninRefusal.NOT_IN_ACCESS_GROUPS: (
        "You are not in a group that is allowed to sign in. Ask the organization's "
        "administrator to add you to one of the access groups."
    ),
    SigninRefusal.NO_SEAT: (
        "You do not have a seat. Ask the organization's administrator to assign you one."
    ),
    SigninRefusal.INVALID_RESPONSE: (
        "The identity provider's response could not be verified. Try signing in again; "
        "if it keeps failing, tell the organization's administrator."
    ),
    SigninRefusal.SSO_NOT_CONFIGURED: (
        "Sign-in is not set up for this organization yet. Its administrator completes "
        "it under Settings > Identity and Access."
    ),
}


def refusal_message(reason: str) -> str:
    """What the refusal page tells the user to do."""
    return _REFUSAL_MESSAGES.get(reason, "")


def access_decision(user: EndUser) -> Decision:
    """Whether `user` may use the org's services now. Writes nothing."""
    if not user.active or user.removed_by_idp_at is not None:
        return Decision(user, SigninRefusal.USER_DISABLED)
    if user.access == EndUser.Access.NOT_IN_ACCESS_GROUPS:
        return Decision(user, SigninRefusal.NOT_IN_ACCESS_GROUPS)
    if not user.has_seat:
        return Decision(user, SigninRefusal.NO_SEAT)
    return Decision(user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_start(*, user: EndUser, protocol: str) -> str:
    """Open a session for a user the gate allowed; returns the browser's token."""
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    EndUserSession.objects.create(
        digest=_digest(token),
        user=user,
        protocol=protocol,
        expires_at=timezone.now() + timedelta(seconds=settings.END_USER_SESSION_AGE),
    )
    return token


def session_user(token: str) -> Decision | None:
    """The user of a live session, checked against the gate again; None when the
    token names no live session. A user who lost access gets the refusal, and the
    session is ended."""
    if not token:
        return None
    session = (
        EndUserSession.objects.select_related("user__org")
        .filter(digest=_digest(token), expires_at__gt=timezone.now())
        .first()
    )
    if session is None:
        return None
    decision = access_decision(session.user)
    if not decision.allowed:
        session.delete()
    return decision


def session_end(token: str) -> None:
    EndUserSession.objects.filter(digest=_digest(token)).delete()


def sessions_end(users: QuerySet[EndUser, Any] | Iterable[uuid.UUID | EndUser]) -> int:
    """End every session of these users now; how many there were."""
    deleted, _ = EndUserSession.objects.filter(user__in=users).delete()
    return deleted
