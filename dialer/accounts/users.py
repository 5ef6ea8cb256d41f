"""Console users: add, list, disable, enable, change a password, sign in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from dialer.accounts.names import check_name
from dialer.accounts.passwords import (
    check_new_password,
    dummy_verify,
    hash_password,
    verify_password,
)
from dialer.accounts.roles import Role
from dialer.db.models import User, WebSession
from dialer.db.types import utcnow
from dialer.errors import NotFoundError, UserError


def _find(session: Session, name: str) -> User | None:
    return session.exec(select(User).where(col(User.name) == name)).first()


def _get(session: Session, name: str) -> User:
    user = _find(session, name)
    if user is None:
        raise NotFoundError(f"no user {name!r}")
    return user


def add_user(
    session: Session, name: str, role: Role, password: str, *, now: datetime | None = None
) -> User:
    """Store a new user. ``UserError`` for a bad name, a short password or a name taken."""
    check_name("user", name)
    check_new_password(password)
    if _find(session, name) is not None:
        raise UserError(f"user {name!r} already exists")
    user = User(
        name=name,
        role=role.value,
        password_hash=hash_password(password),
        created_at=now or utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    """Every user, disabled ones too, by name."""
    return list(session.exec(select(User).order_by(col(User.name))).all())


def disable_user(session: Session, name: str, *, now: datetime | None = None) -> User:
    """Stop ``name`` signing in and sign them out everywhere. ``NotFoundError`` if unknown;
    an already disabled user keeps the original ``disabled_at``."""
    user = _get(session, name)
    if user.disabled_at is None:
        user.disabled_at = now or utcnow()
        session.add(user)
    session.execute(delete(WebSession).where(col(WebSession.user_id) == user.id))
    session.flush()
    return user


def enable_user(session: Session, name: str) -> User:
    """Let a disabled user sign in again. ``NotFoundError`` if unknown."""
    user = _get(session, name)
    user.disabled_at = None
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, name: str, password: str) -> User:
    """Replace ``name``'s password. ``NotFoundError`` if unknown, ``UserError`` if too short.
    Sessions already signed in stay signed in (``disable_user`` ends them)."""
    check_new_password(password)
    user = _get(session, name)
    user.password_hash = hash_password(password)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs and they are not disabled, else None.

    An unknown name costs the same argon2 check as a wrong password, so the answer's timing
    does not tell which names exist.
    """
    user = _find(session, name)
    if user is None:
        dummy_verify(password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    return user if user.disabled_at is None else None
