"""The scheduler loop survives any error in a tick and writes its heartbeat."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dialer.campaign.config import parse_config
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign, Lease
from dialer.loader.load import load_contacts
from dialer.scheduler import heartbeat
from dialer.scheduler.loop import run_scheduler
from dialer.scheduler.tick import TickOptions
from dialer.supervise import Backoff
from tests.support.factories import campaign_toml, fast_retry, make_campaign, write_csv

FAULTS: list[Exception] = [
    redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379"),
    IntegrityError("INSERT ...", {}, Exception("duplicate key")),
    RuntimeError("something unexpected"),
]


def running_campaign(engine: Engine, tmp_path: Path, contacts: int) -> None:
    campaign_id = make_campaign(engine, parse_config(campaign_toml(text="Hi") + fast_retry()))
    rows = "phone\n" + "".join(f"7916123{i:04d}\n" for i in range(contacts))
    load_contacts(engine, "test", write_csv(tmp_path / "c.csv", rows))
    with session_scope(engine) as session:
        session.execute(
            update(Campaign).where(col(Campaign.id) == campaign_id).values(state="running")
        )


def test_the_loop_logs_backs_off_and_carries_on_after_any_error(
    sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running_campaign(sqlite_engine, tmp_path, contacts=3)
    stop = threading.Event()
    faults = list(FAULTS)
    sent: set[int] = set()
    seen_heartbeat: list[str] = []

    def enqueue(attempt_id: int, channel: str, delay_ms: int) -> None:
        if faults:
            raise faults.pop(0)
        sent.add(attempt_id)
        with Session(sqlite_engine) as session:
            seen_heartbeat.extend(lease.name for lease in session.exec(select(Lease)))
        stop.set()

    thread = threading.Thread(
        target=run_scheduler,
        args=(sqlite_engine, enqueue, stop),
        kwargs={
            "interval": 0.01,
            # Every tick re-sends what is queued: the attempts whose message was lost.
            "options": TickOptions(requeue_after=timedelta(0)),
            "backoff": Backoff(first=0.01, cap=0.05),
        },
    )
    thread.start()
    thread.join(20)
    stopped = not thread.is_alive()
    stop.set()
    thread.join(5)

    assert stopped, "the loop never got a tick through"
    assert not faults
    warnings = [r.getMessage() for r in caplog.records if r.name == "dialer.supervise"]
    assert [w.split("(")[1].split(":")[0] for w in warnings[:3]] == [
        "ConnectionError",
        "IntegrityError",
        "RuntimeError",
    ]
    with Session(sqlite_engine) as session:
        queued = {a.id for a in session.exec(select(Attempt))}
        leases = session.exec(select(Lease)).all()
    assert sent
    assert sent <= queued
    assert set(seen_heartbeat) == {heartbeat.heartbeat_name()}
    assert leases == []  # a clean stop removes the heartbeat


def test_heartbeat_refreshes_one_row_per_scheduler(sqlite_engine: Engine) -> None:
    from dialer.db.types import utcnow

    now = utcnow()
    heartbeat.beat(sqlite_engine, "scheduler/a:1", now - timedelta(days=2))
    heartbeat.beat(sqlite_engine, "scheduler/b:2", now - timedelta(seconds=10))
    heartbeat.beat(sqlite_engine, "scheduler/b:2", now)
    with Session(sqlite_engine) as session:
        assert heartbeat.last_seen(session) == now
    heartbeat.beat(sqlite_engine, "scheduler/c:3", now)  # a new row prunes long-gone ones
    with Session(sqlite_engine) as session:
        names = sorted(lease.name for lease in session.exec(select(Lease)))
        assert names == ["scheduler/b:2", "scheduler/c:3"]
    heartbeat.forget(sqlite_engine, "scheduler/b:2")
    heartbeat.forget(sqlite_engine, "scheduler/c:3")
    with Session(sqlite_engine) as session:
        assert heartbeat.last_seen(session) is None


class FailingHistory:
    """A reconciler whose msapi read raises something unexpected."""

    has_sms = True

    def __init__(self) -> None:
        self.reads = 0

    def inbound_sms(self, since: object) -> None:
        self.reads += 1
        raise RuntimeError("msapi answered nonsense")


def test_a_failing_inbound_scan_is_tried_once_per_interval(sqlite_engine: Engine) -> None:
    from dialer.db.types import utcnow
    from dialer.outcomes.sms_history import InboundScan
    from dialer.scheduler.loop import scan_inbound_sms

    make_campaign(sqlite_engine, parse_config(campaign_toml(channel="sms", text="Hi")))
    history = FailingHistory()
    scan = InboundScan(timedelta(seconds=30))
    start = utcnow()
    for offset in (0, 1, 29, 30, 31):  # the loop's own test: scan only when due
        now = start + timedelta(seconds=offset)
        if scan.due(now):
            with pytest.raises(RuntimeError):
                scan_inbound_sms(sqlite_engine, history, scan, now)  # type: ignore[arg-type]
    assert history.reads == 2  # at 0 s and 30 s, not on every tick between
    assert scan.since(start + timedelta(seconds=60)) == start + timedelta(seconds=60, hours=-24)
