from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from dialer.accounts.throttle import (
    MAX_FAILURES,
    WINDOW,
    clear_failures,
    login_blocked,
    record_failure,
    wait_after,
)
from dialer.db.models import LoginFailure
from tests.accounts.conftest import NOW

MIN = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("ago", "wait"),
    [
        ([], None),
        ([0, 0, 0, 0], None),
        ([0, 0, 0, 0, 0], WINDOW),
        ([0, 1, 2, 3, 4], WINDOW - 4 * MIN),
        ([0, 1, 2, 3, 14], MIN),
        ([0, 1, 2, 3, 15], None),
        ([0, 0, 0, 0, 10, 20], WINDOW - 10 * MIN),
    ],
)
def test_wait_after(ago: list[int], wait: timedelta | None) -> None:
    recent: list[datetime] = [NOW - n * MIN for n in ago]
    assert wait_after(recent, NOW) == wait


def test_five_failures_block_until_the_window_passes(session: Session) -> None:
    keys = ["user:alice", "ip:10.0.0.1"]
    for n in range(MAX_FAILURES - 1):
        record_failure(session, keys, now=NOW + n * MIN)
        assert login_blocked(session, keys, now=NOW + n * MIN) is None
    record_failure(session, keys, now=NOW + 4 * MIN)
    assert login_blocked(session, keys, now=NOW + 4 * MIN) == WINDOW - 4 * MIN
    assert login_blocked(session, ["ip:10.0.0.1"], now=NOW + 4 * MIN) == WINDOW - 4 * MIN
    assert login_blocked(session, ["user:bob"], now=NOW + 4 * MIN) is None
    assert login_blocked(session, keys, now=NOW + WINDOW - MIN) == MIN
    assert login_blocked(session, keys, now=NOW + WINDOW) is None


def test_longest_wait_of_the_keys(session: Session) -> None:
    for _ in range(MAX_FAILURES):
        record_failure(session, ["user:a"], now=NOW)
        record_failure(session, ["ip:1"], now=NOW + 2 * MIN)
    assert login_blocked(session, ["user:a", "ip:1"], now=NOW + 5 * MIN) == WINDOW - 3 * MIN
    assert login_blocked(session, ["user:a"], now=NOW + 5 * MIN) == WINDOW - 5 * MIN


def test_clear_failures(session: Session) -> None:
    for _ in range(MAX_FAILURES):
        record_failure(session, ["user:alice", "ip:1"], now=NOW)
    clear_failures(session, ["user:alice"])
    assert login_blocked(session, ["user:alice"], now=NOW) is None
    assert login_blocked(session, ["ip:1"], now=NOW) == WINDOW
    clear_failures(session, [])


def test_old_failures_are_deleted_when_recording(session: Session) -> None:
    record_failure(session, ["ip:1"], now=NOW)
    record_failure(session, ["ip:2"], now=NOW + WINDOW + MIN)
    keys = [f.key for f in session.exec(select(LoginFailure)).all()]
    assert keys == ["ip:2"]
