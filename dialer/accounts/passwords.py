"""Console passwords, stored as argon2id hashes (argon2-cffi's defaults, RFC 9106)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dialer.errors import UserError

MIN_PASSWORD_LENGTH = 8


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, in PHC string form (salt and parameters included)."""
    return _hasher().hash(password)


def verify_password(hash: str, password: str) -> bool:
    """Whether ``password`` matches ``hash``; False (never an exception) for a mismatch or a
    hash that is not argon2."""
    try:
        return _hasher().verify(hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return hash_password("not a password anyone has")


def dummy_verify(password: str) -> None:
    """Spend the time a real check takes, so an unknown name answers as slowly as a known
    one with a wrong password."""
    verify_password(_dummy_hash(), password)


def check_new_password(password: str) -> None:
    """``UserError`` when ``password`` is too weak to store."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
