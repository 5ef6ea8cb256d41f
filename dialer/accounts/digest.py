"""What is stored instead of a secret: its SHA-256. Tokens and cookies are random (256 bits),
so a plain hash suffices; passwords are not, and get argon2 (``passwords``)."""

from __future__ import annotations

import hashlib


def sha256_hex(secret: str) -> str:
    """SHA-256 of ``secret`` (UTF-8), 64 lowercase hex digits."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
