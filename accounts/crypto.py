"""Encryption at rest for secrets (refresh tokens, client secrets, access tokens).

Keys come from STOCKLINK_ENCRYPTION_KEYS (Fernet, newest first), so a key can be rotated by
prepending a new one: old values still decrypt, new writes use the newest key.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet() -> MultiFernet:
    keys = [k for k in settings.STOCKLINK_ENCRYPTION_KEYS if k]
    if not keys:
        raise ImproperlyConfigured("STOCKLINK_ENCRYPTION_KEYS must hold at least one Fernet key.")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"STOCKLINK_ENCRYPTION_KEYS holds an invalid key: {exc}"
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: STOCKLINK_ENCRYPTION_KEYS lacks the key it was "
            "written with."
        ) from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is stored Fernet-encrypted; Python code sees plaintext.

    Empty strings stay empty so "not set" needs no decryption.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
