"""Browser sessions of the console: a random cookie, stored as its SHA-256, and the CSRF
token that forms must send back."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from dialer.accounts.digest import sha256_hex
from dialer.accounts.principal import Principal
from dialer.accounts.roles import Role
from dialer.db.models import User, WebSession
from dialer.db.types import utcnow

SESSION_HOURS = 12
"""A session ends this many hours after sign-in, however active."""


def start_session(session: Session, user: User, *, now: datetime | None = None) -> tuple[str, str]:
    """Sign ``user`` in: ``(cookie value, CSRF token)``. The cookie value is not stored."""
    if user.id is None:
        raise ValueError("start_session needs a stored user")
    now = now or utcnow()
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=sha256_hex(cookie_value),
            user_id=user.id,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )
    session.flush()
    return cookie_value, csrf_token


def session_principal(
    session: Session, cookie_value: str, *, now: datetime | None = None
) -> tuple[Principal, str] | None:
    """The signed-in user and the session's CSRF token; None when the cookie is unknown, the
    session expired or the user is disabled."""
    row = session.exec(
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(col(WebSession.id) == sha256_hex(cookie_value))
    ).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.expires_at <= (now or utcnow()) or user.disabled_at is not None:
        return None
    principal = Principal(name=user.name, role=Role(user.role), kind="user", user_id=user.id)
    return principal, web_session.csrf_token


def end_session(session: Session, cookie_value: str) -> None:
    """Sign out (nothing happens for an unknown cookie)."""
    session.execute(delete(WebSession).where(col(WebSession.id) == sha256_hex(cookie_value)))


def purge_expired(session: Session, now: datetime) -> int:
    """Delete sessions expired at ``now``; how many."""
    result = session.execute(delete(WebSession).where(col(WebSession.expires_at) <= now))
    return int(getattr(result, "rowcount", 0) or 0)
