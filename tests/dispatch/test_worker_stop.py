"""SIGTERM of a real ``dialer worker`` mid-campaign (PostgreSQL, Redis, the simulator in its
own process): no traceback, nothing left ``dialing``, and no attempt the provider never saw
spent; a new worker then finishes the campaign with every number called exactly once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.campaign.config import parse_config
from dialer.control import control_campaign
from dialer.db.models import Attempt, Contact
from dialer.embedded import wait_until_done
from dialer.loader.load import load_contacts
from dialer.settings import Settings
from dialer.simulator.config import SimulatorConfig
from dialer.states import FINAL_CONTACT_STATUSES
from tests.support.factories import campaign_toml, make_campaign, write_csv
from tests.support.processes import (
    EVERYONE_ANSWERS,
    dialer_command,
    simulated_mtt,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "test-token-123-0123456789"
CONTACTS = 16
CAMPAIGN = (
    campaign_toml(name="stop", text="Привет {name}")
    + """
[schedule]
window = "00:00-24:00"
[limits]
rps = 2
max_concurrent = 30
[retry]
max_attempts = 3
event_timeout = "20s"
"""
)


def attempts(engine: Engine) -> list[Attempt]:
    with Session(engine) as session:
        return list(session.exec(select(Attempt)).all())


@pytest.fixture
def world(pg_engine: Engine, pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[Any]:
    base = Settings(database_url=pg_url, redis_url=redis_url, webhook_token=SecretStr(TOKEN))
    sim = SimulatorConfig(speed=20, seed=5, listen_seconds=(2, 4), outcome_weights=EVERYONE_ANSWERS)
    with simulated_mtt(base, pg_engine, tmp_path, sim, REQUEUE_AFTER_SECONDS="3") as world:
        yield world


@pytest.mark.timeout(180)
def test_sigterm_releases_waiting_dials_and_lets_sends_finish(
    world: Any, pg_engine: Engine, tmp_path: Path
) -> None:
    simulator, env, processes = world
    make_campaign(pg_engine, parse_config(CAMPAIGN))
    numbers = [f"7916{i:07d}" for i in range(1, CONTACTS + 1)]
    rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(numbers))
    load_contacts(pg_engine, "stop", write_csv(tmp_path / "c.csv", rows))
    control_campaign(simulator.settings, pg_engine, "stop", "start")
    scheduler = processes.spawn("scheduler", dialer_command("scheduler"), env)
    worker = processes.spawn("worker", dialer_command("worker", "--threads", "8"), env)

    # At 2 requests per second, eight threads hold claimed dials waiting for their token.
    def dials_waiting() -> bool:
        rows = attempts(pg_engine)
        return sum(a.status == "dialing" for a in rows) >= 3 and any(a.provider_id for a in rows)

    wait_until(dials_waiting, "claimed dials waiting for a rate token", timeout=60, interval=0.1)
    processes.stop(scheduler.pid)  # hold the queue still while we look
    worker.send_signal(signal.SIGTERM)
    worker.wait(30)
    log = (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert "client has been closed" not in log
    time.sleep(1)  # events of the calls sent last reach the collector

    stats: dict[str, Any] = httpx.get(f"{simulator.url}/_sim/stats").json()
    seen = set(stats["calls_by_number"])
    rows = attempts(pg_engine)
    assert not [a for a in rows if a.status == "dialing"]  # nothing stranded
    assert [a for a in rows if a.status == "queued" and a.tries == 0]  # some put back
    for attempt in rows:
        # Every attempt that reached the provider is recorded as sent; none that didn't is.
        assert (attempt.number in seen) == (attempt.provider_id is not None), attempt
        if attempt.number not in seen:
            assert attempt.status == "queued"
            assert attempt.outcome is None

    processes.spawn("scheduler-2", dialer_command("scheduler"), env)
    processes.spawn("worker-2", dialer_command("worker", "--threads", "8"), env)
    assert wait_until_done(pg_engine, "stop", 120) == "completed"
    stats = httpx.get(f"{simulator.url}/_sim/stats").json()
    assert not stats["reused_mess_ids"]
    assert stats["calls_by_number"] == dict.fromkeys(numbers, 1)
    with Session(pg_engine) as session:
        contacts = session.exec(select(Contact)).all()
    assert all(c.status in FINAL_CONTACT_STATUSES for c in contacts)
