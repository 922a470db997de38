"""Secrets at rest: every secret this server stores (an OIDC client secret now, LDAP bind
passwords and webhook secrets later) is kept encrypted with one key setting.

FIELD_ENCRYPTION_KEYS is a comma-separated list of Fernet keys (AES-128-CBC with
HMAC-SHA256, from the `cryptography` package): the first encrypts, every one decrypts.
To rotate, put a new key first, keep the old ones after it, and run
`manage.py secrets reencrypt`; then the old keys can go. Unset, one key is derived from
SECRET_KEY (fine for the embedded default; set FIELD_ENCRYPTION_KEYS in production so
SECRET_KEY can change without losing the secrets). Generate a key with:

    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction


class DecryptionError(Exception):
    """A stored secret that none of FIELD_ENCRYPTION_KEYS opens."""


def _derived_key(secret_key: str) -> bytes:
    digest = hashlib.sha256(b"commandcenter field encryption\x00" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@cache
def _ring(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(_derived_key(secret_key))])
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated"
        ) from None


def key_ring() -> MultiFernet:
    keys = tuple(k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip())
    return _ring(keys, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return key_ring().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return key_ring().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS: was a key "
            "removed before `manage.py secrets reencrypt` ran?"
        ) from None


def reencrypt(token: str) -> str:
    """`token` encrypted again with the first key (the same secret)."""
    try:
        return key_ring().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS"
        ) from None


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text kept encrypted in the database and plain in Python. An empty value is stored
    empty (no secret set). Not for lookups: each encryption of a value differs."""

    description = "Text encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value in (None, ""):
            return value
        return decrypt(value)


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) stored as an EncryptedTextField, found by walking the
    installed models: a secret field added later is re-encrypted without being listed."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def secrets_reencrypt() -> dict[str, int]:
    """Encrypt every stored secret again with the first of FIELD_ENCRYPTION_KEYS, so the
    keys after it can be removed; returns how many values each field had ("app.Model.field").

    All or nothing: one transaction, the rows locked while they are rewritten, and a
    value no key opens raises DecryptionError with nothing changed."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        for model, name in encrypted_fields():
            label = f"{model._meta.label}.{name}"
            rows = model._base_manager.select_for_update().exclude(**{name: ""})
            rows = rows.exclude(**{f"{name}__isnull": True})
            try:
                # Read through the field (every key decrypts), write through it (the first
                # key encrypts): the same secret under the new key.
                values = list(rows.values_list("pk", name))
            except DecryptionError:
                raise DecryptionError(
                    f"A stored secret in {label} cannot be decrypted with FIELD_ENCRYPTION_KEYS: "
                    "nothing was re-encrypted"
                ) from None
            for pk, plaintext in values:
                model._base_manager.filter(pk=pk).update(**{name: plaintext})
            counts[label] = len(values)
    return counts
