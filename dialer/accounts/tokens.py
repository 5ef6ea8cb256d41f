"""API tokens: bearer secrets for ``/api/v1``, each with a name and a role.

The plaintext (``dlr_`` + 43 URL-safe characters) is shown once when created; only its
SHA-256 is stored.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from dialer.accounts.digest import sha256_hex
from dialer.accounts.names import check_name
from dialer.accounts.principal import Principal
from dialer.accounts.roles import Role
from dialer.db.models import ApiToken
from dialer.db.types import utcnow
from dialer.errors import NotFoundError, UserError

TOKEN_PREFIX = "dlr_"
LAST_USED_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often: not one write per request."""


def _active(session: Session, name: str) -> ApiToken | None:
    return session.exec(
        select(ApiToken).where(col(ApiToken.name) == name, col(ApiToken.revoked_at).is_(None))
    ).first()


def create_token(session: Session, name: str, role: Role, *, now: datetime | None = None) -> str:
    """Store a new token and return its plaintext (the only time it is known).

    ``UserError`` for a bad name or when an unrevoked token has it. A revoked token of the
    same name is deleted (names are unique, and a revoked token authenticates nobody).
    """
    check_name("token", name)
    existing = session.exec(select(ApiToken).where(col(ApiToken.name) == name)).first()
    if existing is not None:
        if existing.revoked_at is None:
            raise UserError(f"token {name!r} already exists; revoke it first")
        session.delete(existing)
        session.flush()
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            role=role.value,
            token_hash=sha256_hex(plaintext),
            created_at=now or utcnow(),
        )
    )
    session.flush()
    return plaintext


def revoke_token(session: Session, name: str, *, now: datetime | None = None) -> ApiToken:
    """Stop the token ``name`` working. ``NotFoundError`` when no active token has it."""
    token = _active(session, name)
    if token is None:
        raise NotFoundError(f"no active token {name!r}")
    token.revoked_at = now or utcnow()
    session.add(token)
    session.flush()
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, revoked ones too, by name."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.name))).all())


def principal_for_token(
    session: Session, plaintext: str, *, now: datetime | None = None
) -> Principal | None:
    """Who ``plaintext`` is, or None for an unknown or revoked token."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = session.exec(
        select(ApiToken).where(col(ApiToken.token_hash) == sha256_hex(plaintext))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        token.last_used_at = now
        session.add(token)
        session.flush()
    return Principal(name=token.name, role=Role(token.role), kind="token")
