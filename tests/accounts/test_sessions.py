from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from dialer.accounts.principal import Principal
from dialer.accounts.roles import Role
from dialer.accounts.sessions import (
    SESSION_HOURS,
    end_session,
    purge_expired,
    session_principal,
    start_session,
)
from dialer.accounts.users import add_user, disable_user
from dialer.db.models import User, WebSession
from tests.accounts.conftest import NOW


@pytest.fixture
def alice(session: Session) -> User:
    return add_user(session, "alice", Role.MANAGER, "s3cret-enough")


def test_start_and_read(session: Session, alice: User) -> None:
    cookie, csrf = start_session(session, alice, now=NOW)
    assert cookie != csrf
    (row,) = session.exec(select(WebSession)).all()
    assert row.id != cookie
    assert len(row.id) == 64
    assert row.expires_at == NOW + timedelta(hours=SESSION_HOURS)
    found = session_principal(session, cookie, now=NOW)
    assert found == (
        Principal(name="alice", role=Role.MANAGER, kind="user", user_id=alice.id),
        csrf,
    )


@pytest.mark.parametrize(
    ("after", "alive"),
    [
        (timedelta(0), True),
        (timedelta(hours=SESSION_HOURS) - timedelta(seconds=1), True),
        (timedelta(hours=SESSION_HOURS), False),
        (timedelta(days=2), False),
    ],
)
def test_expiry(session: Session, alice: User, after: timedelta, alive: bool) -> None:
    cookie, _ = start_session(session, alice, now=NOW)
    assert (session_principal(session, cookie, now=NOW + after) is not None) is alive


def test_unknown_cookie(session: Session, alice: User) -> None:
    start_session(session, alice, now=NOW)
    assert session_principal(session, "nope", now=NOW) is None


def test_disabled_user(session: Session, alice: User) -> None:
    cookie, _ = start_session(session, alice, now=NOW)
    alice.disabled_at = NOW  # even if the session row survived
    session.add(alice)
    session.flush()
    assert session_principal(session, cookie, now=NOW) is None
    disable_user(session, "alice")
    assert session_principal(session, cookie, now=NOW) is None


def test_end_session(session: Session, alice: User) -> None:
    cookie, _ = start_session(session, alice, now=NOW)
    other, _ = start_session(session, alice, now=NOW)
    end_session(session, cookie)
    end_session(session, "unknown")
    assert session_principal(session, cookie, now=NOW) is None
    assert session_principal(session, other, now=NOW) is not None


def test_purge_expired(session: Session, alice: User) -> None:
    start_session(session, alice, now=NOW - timedelta(days=1))
    start_session(session, alice, now=NOW - timedelta(days=1))
    fresh, _ = start_session(session, alice, now=NOW)
    assert purge_expired(session, NOW) == 2
    assert purge_expired(session, NOW) == 0
    assert session_principal(session, fresh, now=NOW) is not None
