"""Sign-in throttling: after ``MAX_FAILURES`` failures of one key (``user:alice``,
``ip:1.2.3.4``) within ``WINDOW``, that key waits until the oldest of them leaves the window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from dialer.db.models import LoginFailure
from dialer.db.types import utcnow

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def wait_after(recent: Sequence[datetime], now: datetime) -> timedelta | None:
    """How long until one key may try again, given its failures newest first (at least the
    latest ``MAX_FAILURES``); None when it may try now."""
    if len(recent) < MAX_FAILURES:
        return None
    free_at = recent[MAX_FAILURES - 1] + WINDOW
    return free_at - now if free_at > now else None


def login_blocked(
    session: Session, keys: Sequence[str], *, now: datetime | None = None
) -> timedelta | None:
    """The longest wait among ``keys``; None when none of them is blocked."""
    now = now or utcnow()
    waits: list[timedelta] = []
    for key in keys:
        recent = session.exec(
            select(LoginFailure.at)
            .where(col(LoginFailure.key) == key, col(LoginFailure.at) > now - WINDOW)
            .order_by(col(LoginFailure.at).desc())
            .limit(MAX_FAILURES)
        ).all()
        wait = wait_after(list(recent), now)
        if wait is not None:
            waits.append(wait)
    return max(waits, default=None)


def record_failure(session: Session, keys: Sequence[str], *, now: datetime | None = None) -> None:
    """Count one failed sign-in against each of ``keys``; forget failures older than
    ``WINDOW`` (of any key) while at it."""
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(col(LoginFailure.at) <= now - WINDOW))
    session.add_all(LoginFailure(key=key, at=now) for key in keys)
    session.flush()


def clear_failures(session: Session, keys: Sequence[str]) -> None:
    """Forget the failures of ``keys`` (after a successful sign-in)."""
    if keys:
        session.execute(delete(LoginFailure).where(col(LoginFailure.key).in_(list(keys))))
