"""End-user sign-in: why one was refused, sessions and one-time nonces."""

from __future__ import annotations

from typing import Any

from django.db import models

from directory.models.orgs import Org
from directory.models.people import EndUser


class SigninRefusal(models.TextChoices):
    """Why a sign-in was refused: the code the refusal page and the event carry."""

    USER_NOT_PROVISIONED = "USER_NOT_PROVISIONED", "Not in the directory"
    USER_DISABLED = "USER_DISABLED", "Deactivated"
    NOT_IN_ACCESS_GROUPS = "NOT_IN_ACCESS_GROUPS", "Not in the access groups"
    NO_SEAT = "NO_SEAT", "No seat"
    INVALID_RESPONSE = "INVALID_RESPONSE", "Invalid response from the IdP"
    SSO_NOT_CONFIGURED = "SSO_NOT_CONFIGURED", "Sign-in not set up"


class EndUserSession(models.Model):
    """A signed-in end user (never a console admin: those are Django sessions). The
    browser holds a random token; only its digest is stored. Every request checks the
    user against the sign-in gate again, and whatever takes a user's access away
    deletes their sessions (directory.services.signin)."""

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(EndUser, models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    protocol = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class SigninNonce(models.Model):
    """A one-time value of a sign-in in flight, kept in the database so that every
    worker and process sees it (directory.services.signin_state): the ID of an
    AuthnRequest we sent (answered once), the ID of an assertion we accepted (never
    accepted again before it expires), an OIDC state with its nonce and PKCE verifier."""

    class Kind(models.TextChoices):
        AUTHN_REQUEST = "authn_request", "SAML AuthnRequest"
        ASSERTION = "assertion", "SAML assertion"
        OIDC_STATE = "oidc_state", "OIDC state"

    org = models.ForeignKey(Org, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=255)
    data: models.JSONField[dict[str, Any], dict[str, Any]] = models.JSONField(
        default=dict, blank=True
    )
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "kind", "key"], name="signinnonce_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
