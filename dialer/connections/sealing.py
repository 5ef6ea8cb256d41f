"""Sealing secrets stored in the database: Fernet (AES-128-CBC + HMAC-SHA256) under a key
derived from ``DIALER_SECRET_KEY``. A database dump or a backup then holds no usable token."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from dialer.errors import ConfigError


class Sealer:
    """Seal and open text under one secret key (any text of 32+ characters: it is hashed)."""

    def __init__(self, secret_key: SecretStr) -> None:
        key = secret_key.get_secret_value()
        if not key:
            raise ConfigError(
                "set DIALER_SECRET_KEY (32+ characters): OAuth tokens are stored sealed with it"
            )
        digest = hashlib.sha256(b"dialer-connections\x00" + key.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The text; ``ConfigError`` when it was sealed under another key (the key changed:
        connect again)."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise ConfigError(
                "a stored token cannot be opened with this DIALER_SECRET_KEY (was the key "
                "changed?); connect again"
            ) from None
