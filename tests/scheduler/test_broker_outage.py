"""``dialer scheduler`` rides out Redis going away mid-run (issue 11.7): it logs one line per
failed tick, backs off, keeps its heartbeat, and once Redis is back (empty) the lost-queued
sweep sends every attempt committed as ``queued`` again. Nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.campaign.config import parse_config
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign
from dialer.db.types import utcnow
from dialer.dispatch.broker import CALLS_QUEUE
from dialer.loader.load import load_contacts
from dialer.scheduler import heartbeat
from tests.support.factories import campaign_toml, fast_retry, make_campaign, write_csv
from tests.support.private_services import private_redis_server
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow

QUEUED = 6
"""rps 2 keeps ceil(2 × 3 s) = 6 attempts queued; with no worker they stay queued."""


def queued_messages(url: str) -> set[str]:
    """Attempt ids of the dial messages waiting in Redis."""
    try:
        with redis.Redis.from_url(url, socket_timeout=1) as client:
            bodies = client.hvals(f"dramatiq:{CALLS_QUEUE}.msgs")
    except redis.RedisError:
        return set()
    return {str(json.loads(body)["args"][0]) for body in bodies}


def queued_attempts(engine: Engine) -> set[str]:
    with Session(engine) as session:
        ids = session.exec(select(Attempt.id).where(Attempt.status == "queued")).all()
    return {str(i) for i in ids}


@pytest.mark.timeout(120)
def test_the_scheduler_survives_redis_going_away(sqlite_engine: Engine, tmp_path: Path) -> None:
    campaign_id = make_campaign(
        sqlite_engine, parse_config(campaign_toml(text="Hi") + fast_retry(rps=2))
    )
    rows = "phone\n" + "".join(f"7916123{i:04d}\n" for i in range(20))
    load_contacts(sqlite_engine, "test", write_csv(tmp_path / "c.csv", rows))
    with session_scope(sqlite_engine) as session:
        session.execute(
            update(Campaign).where(col(Campaign.id) == campaign_id).values(state="running")
        )
    database_url = str(sqlite_engine.url)
    log = (tmp_path / "scheduler.log").open("wb")
    with private_redis_server(tmp_path) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
        env |= {
            "DIALER_DATABASE_URL": database_url,
            "DIALER_REDIS_URL": server.url,
            "DIALER_REQUEUE_AFTER_SECONDS": "2",
            "DIALER_LOG_LEVEL": "INFO",
        }
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "dialer", "scheduler"], env=env, stdout=log, stderr=log
        )
        try:
            wait_until(lambda: len(queued_messages(server.url)) == QUEUED, "first messages", 30)
            server.stop()
            time.sleep(5)  # more than two re-send rounds fail meanwhile
            alive_while_down = scheduler.poll() is None
            with Session(sqlite_engine) as session:
                seen_at = heartbeat.last_seen(session)
            server.start()  # empty: everything the queue held is gone
            wait_until(
                lambda: queued_messages(server.url) >= queued_attempts(sqlite_engine),
                "messages sent again",
                30,
                0.2,
            )
        finally:
            scheduler.send_signal(signal.SIGTERM)
            code = scheduler.wait(20)
            log.close()
    output = (tmp_path / "scheduler.log").read_text()

    assert alive_while_down, output
    assert seen_at is not None
    assert (utcnow() - seen_at).total_seconds() < 30
    assert len(queued_attempts(sqlite_engine)) == QUEUED  # no new work while Redis was away
    assert code == 0, output
    assert "Traceback" not in output
    assert "scheduler tick failed (ConnectionError" in output
    assert "scheduler tick recovered" in output
