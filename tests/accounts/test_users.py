from __future__ import annotations

import pytest
from sqlmodel import Session, select

from dialer.accounts.roles import Role
from dialer.accounts.sessions import session_principal, start_session
from dialer.accounts.users import (
    add_user,
    authenticate,
    disable_user,
    enable_user,
    list_users,
    set_password,
)
from dialer.db.models import WebSession
from dialer.errors import NotFoundError, UserError
from tests.accounts.conftest import NOW

PASSWORD = "s3cret-enough"


def test_add_and_authenticate(session: Session) -> None:
    user = add_user(session, "alice", Role.MANAGER, PASSWORD, now=NOW)
    assert user.id is not None
    assert user.role == "manager"
    assert user.created_at == NOW
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate(session, "alice", PASSWORD) == user


@pytest.mark.parametrize(
    ("name", "password"),
    [("alice", "wrong-password"), ("bob", PASSWORD), ("ALICE", PASSWORD)],
)
def test_authenticate_refuses(session: Session, name: str, password: str) -> None:
    add_user(session, "alice", Role.ANALYST, PASSWORD)
    assert authenticate(session, name, password) is None


def test_duplicate_name(session: Session) -> None:
    add_user(session, "alice", Role.ANALYST, PASSWORD)
    with pytest.raises(UserError, match=r"^user 'alice' already exists$"):
        add_user(session, "alice", Role.ADMIN, PASSWORD)


@pytest.mark.parametrize("name", ["", "a b", "x" * 101, "алиса", "a/b", "a:b"])
def test_bad_names(session: Session, name: str) -> None:
    with pytest.raises(UserError, match=r"user name"):
        add_user(session, name, Role.ANALYST, PASSWORD)


@pytest.mark.parametrize("name", ["a", "alice.smith", "a_b-c", "ops@example.ru", "x" * 100])
def test_good_names(session: Session, name: str) -> None:
    assert add_user(session, name, Role.ANALYST, PASSWORD).name == name


def test_short_password(session: Session) -> None:
    with pytest.raises(UserError, match="password too short"):
        add_user(session, "alice", Role.ANALYST, "short")


def test_disable_ends_sessions_and_sign_in(session: Session) -> None:
    user = add_user(session, "alice", Role.ADMIN, PASSWORD)
    cookie, _ = start_session(session, user, now=NOW)
    disabled = disable_user(session, "alice", now=NOW)
    assert disabled.disabled_at == NOW
    assert session.exec(select(WebSession)).all() == []
    assert session_principal(session, cookie, now=NOW) is None
    assert authenticate(session, "alice", PASSWORD) is None

    enable_user(session, "alice")
    assert authenticate(session, "alice", PASSWORD) is not None


def test_set_password(session: Session) -> None:
    add_user(session, "alice", Role.ADMIN, PASSWORD)
    set_password(session, "alice", "another-one")
    assert authenticate(session, "alice", PASSWORD) is None
    assert authenticate(session, "alice", "another-one") is not None
    with pytest.raises(UserError, match="password too short"):
        set_password(session, "alice", "short")


@pytest.mark.parametrize("action", [disable_user, enable_user])
def test_unknown_user(session: Session, action: object) -> None:
    with pytest.raises(NotFoundError, match=r"^no user 'ghost'$"):
        action(session, "ghost")  # type: ignore[operator]
    with pytest.raises(NotFoundError, match=r"^no user 'ghost'$"):
        set_password(session, "ghost", PASSWORD)


def test_list_users(session: Session) -> None:
    add_user(session, "bob", Role.ANALYST, PASSWORD)
    add_user(session, "alice", Role.ADMIN, PASSWORD)
    assert [u.name for u in list_users(session)] == ["alice", "bob"]
