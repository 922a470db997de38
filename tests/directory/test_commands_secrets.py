from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from directory.encryption import encrypted_fields
from directory.models import IdentityProvider, Org
from directory.services import idp_configure
from tests.actors import OPERATOR

A, B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _raw(org: Org) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret FROM directory_identityprovider WHERE org_id = %s", [org.id]
        )
        return str(cursor.fetchone()[0])


def _reencrypt() -> str:
    out = StringIO()
    call_command("secrets", "reencrypt", stdout=out)
    return out.getvalue()


def test_the_client_secret_is_found_by_walking_the_models() -> None:
    assert (IdentityProvider, "client_secret") in encrypted_fields()


def test_reencrypt_moves_every_secret_to_the_first_key(
    settings: Any, org: Org, other_org: Org
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [A]
    idp_configure(org=org, provider="entra", protocol="oidc", issuer="https://i.example",
                  client_id="cc", client_secret="under-a", actor=OPERATOR)  # fmt: skip
    idp_configure(org=other_org, provider="okta", protocol="saml", actor=OPERATOR)  # no secret
    before = _raw(org)
    assert Fernet(A.encode()).decrypt(before.encode()) == b"under-a"

    settings.FIELD_ENCRYPTION_KEYS = [B, A]
    out = _reencrypt()
    assert "Re-encrypted 1 secret with the first key" in out
    assert "directory.IdentityProvider.client_secret: 1" in out
    after = _raw(org)
    assert after != before
    assert Fernet(B.encode()).decrypt(after.encode()) == b"under-a"
    with pytest.raises(InvalidToken):
        Fernet(A.encode()).decrypt(after.encode())
    assert _raw(other_org) == ""

    settings.FIELD_ENCRYPTION_KEYS = [B]
    assert IdentityProvider.objects.get(org=org).client_secret == "under-a"


def test_reencrypt_without_the_old_key_refuses_and_changes_nothing(settings: Any, org: Org) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [A]
    idp_configure(org=org, provider="entra", protocol="oidc", client_secret="s", actor=OPERATOR)
    before = _raw(org)
    settings.FIELD_ENCRYPTION_KEYS = [B]  # the old key removed too early
    with pytest.raises(CommandError, match="IdentityProvider.client_secret cannot be decrypted"):
        _reencrypt()
    assert _raw(org) == before
    settings.FIELD_ENCRYPTION_KEYS = [A]
    assert IdentityProvider.objects.get(org=org).client_secret == "s"
