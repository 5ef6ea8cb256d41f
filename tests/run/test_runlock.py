"""The ``run`` lease: one ``dialer run`` per database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from dialer.db.types import utcnow
from dialer.errors import UserError
from dialer.runner.lease import STALE_AFTER, RunLease, refresh, release, try_acquire


def test_one_holder_at_a_time_until_it_goes_stale(engine: Engine) -> None:
    now = utcnow()
    assert try_acquire(engine, "a:1", now) is None
    assert try_acquire(engine, "a:1", now) is None  # ours already: fine
    other = try_acquire(engine, "b:2", now + timedelta(seconds=5))
    assert other is not None
    assert other.holder == "a:1"
    assert refresh(engine, "a:1", now + timedelta(seconds=10))
    assert try_acquire(engine, "b:2", now + timedelta(seconds=20)) is not None  # refreshed
    later = now + timedelta(seconds=10) + STALE_AFTER + timedelta(seconds=1)
    assert try_acquire(engine, "b:2", later) is None  # stale: taken over
    assert not refresh(engine, "a:1", later)  # the old holder learns it lost it
    release(engine, "a:1")  # not its lease any more: nothing happens
    assert try_acquire(engine, "c:3", later) is not None
    release(engine, "b:2")
    assert try_acquire(engine, "c:3", later) is None


def test_racing_acquirers_get_it_once(engine: Engine) -> None:
    now = utcnow()
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def contend(holder: str) -> None:
        barrier.wait()
        try:
            if try_acquire(engine, holder, now) is None:
                winners.append(holder)
        except Exception:  # SQLite: "database is locked" is a loss, never a second win
            pass

    threads = [threading.Thread(target=contend, args=(f"h:{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_run_lease_context_refuses_a_second_run_and_releases_on_exit(engine: Engine) -> None:
    with (
        RunLease(engine, "first:1"),
        pytest.raises(UserError, match=r"another `dialer run` \(first:1"),
        RunLease(engine, "second:2"),
    ):
        pass
    with RunLease(engine, "second:2"):
        pass
