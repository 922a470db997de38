"""directory.encryption: secrets at rest under FIELD_ENCRYPTION_KEYS, rotated without loss."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from directory.encryption import DecryptionError, decrypt, encrypt, reencrypt

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_secret_is_stored_unreadable_and_read_back() -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        token = encrypt("client-secret-ü")
        assert "client-secret" not in token and token != encrypt("client-secret-ü")
        assert decrypt(token) == "client-secret-ü"


def test_keys_rotate_new_first_old_after_then_reencrypt_then_drop_the_old() -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        token = encrypt("s3cret")
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        assert decrypt(token) == "s3cret"
        rotated = reencrypt(token)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        assert decrypt(rotated) == "s3cret"
        with pytest.raises(DecryptionError, match="reencrypt"):
            decrypt(token)


def test_without_keys_one_is_derived_from_secret_key() -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[], SECRET_KEY="a" * 50):
        token = encrypt("x")
        assert decrypt(token) == "x"
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[], SECRET_KEY="b" * 50),
        pytest.raises(DecryptionError),
    ):
        decrypt(token)


def test_a_malformed_key_is_a_configuration_error() -> None:
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=["not-a-key"]),
        pytest.raises(ImproperlyConfigured, match="Fernet keys"),
    ):
        encrypt("x")
