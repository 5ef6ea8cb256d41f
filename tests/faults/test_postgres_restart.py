"""PostgreSQL restarts mid-campaign (issue 10.6): a distributed campaign on a PostgreSQL of
its own, stopped for ~10 s while calls are placed and end, then started again.

Simulator, collector, scheduler and two workers run as processes, like in production. While
the database is away the collector answers 503 and the simulator (like MTT) delivers again;
afterwards every contact is final, no attempt reached the provider twice, and every call's
hangup event is in the inbox (none had to be guessed from the call history).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, func, select

from dialer.campaign.config import parse_config
from dialer.control import control_campaign
from dialer.db.models import Attempt, Campaign, Contact, ProviderEvent
from dialer.loader.load import load_contacts
from dialer.sandbox import hook_url
from dialer.settings import Settings
from dialer.simulator.config import Faults, OutcomeWeights, SimulatorConfig
from dialer.states import FINAL_CONTACT_STATUSES
from tests.support.factories import campaign_toml, fast_retry, make_campaign, write_csv
from tests.support.private_services import PrivatePostgres, private_postgres, private_redis
from tests.support.processes import (
    Processes,
    dialer_command,
    dialer_env,
    free_port,
    reachable,
    simulator_process,
    wait_until,
)
from tests.support.services import migrated

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RPS = 8
CONTACTS = 60
TOKEN = "test-token-postgres-restart"
OUTAGE_SECONDS = 10.0
SPEED = 10
"""Simulator time scale: a 5-20 s call lasts 0.5-2 s."""

CAMPAIGN = campaign_toml(name="pg", text="Привет {name}") + fast_retry(
    rps=RPS, max_concurrent=12, event_timeout="40s"
)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


def count(engine: Engine, statement: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(statement).one())


def webhook_status_while_down(collector_url: str) -> int:
    """What the collector answers to an sb-api event when it cannot store it."""
    event = {"id": "999999", "CallID": "c-1", "event": "h_79160000000_16_5"}
    url = hook_url(collector_url, TOKEN, "call")
    return httpx.post(url, json=event, timeout=10).status_code


def wait_for_campaign(engine: Engine, timeout: float) -> str:
    """The campaign's state once final, tolerating a database that is still coming back."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        try:
            with Session(engine) as session:
                state = session.exec(select(Campaign.state)).one()
        except OperationalError:
            state = "database away"
        if state in ("completed", "cancelled", "paused"):
            return state
        time.sleep(0.3)
    return state


@pytest.mark.timeout(180)
def test_postgres_stopped_for_ten_seconds_mid_campaign(
    postgres: PrivatePostgres, tmp_path: Path
) -> None:
    engine = migrated(postgres.url)
    processes = Processes(tmp_path)
    try:
        with private_redis(tmp_path) as redis_url:
            base = Settings(
                database_url=postgres.url, redis_url=redis_url, webhook_token=SecretStr(TOKEN)
            )
            collector_port = free_port()
            collector_url = f"http://127.0.0.1:{collector_port}"
            sim = SimulatorConfig(
                speed=SPEED,
                seed=5,
                listen_seconds=(5, 20),
                call_webhook_url=hook_url(collector_url, TOKEN, "call"),
                outcome_weights=OutcomeWeights(
                    answered=1, busy=0, no_answer=0, absent=0, unallocated=0, network=0
                ),
                # Like MTT: a 5xx is delivered again, for longer than the outage lasts
                # (simulated seconds: 0.5 s, then doubling up to 2 s real, 30 tries).
                faults=Faults(
                    webhook_max_tries=30,
                    webhook_retry_initial_s=0.5 * SPEED,
                    webhook_retry_max_s=2.0 * SPEED,
                ),
            )
            simulator = simulator_process(base, sim, tmp_path)
            env = dialer_env(
                simulator.settings,
                TOKEN,
                HTTP_READ_TIMEOUT="3",
                DIAL_LEASE_SECONDS="30",
                REQUEUE_AFTER_SECONDS="3",
            )
            processes.spawn("simulator", dialer_command(*simulator.argv), env)
            processes.spawn(
                "collector",
                dialer_command(
                    "collector",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(collector_port),
                    "--metrics-port",
                    "0",
                ),
                env,
            )
            wait_until(lambda: reachable(f"{simulator.url}/_sim/stats"), "simulator", 30)
            wait_until(lambda: reachable(f"{collector_url}/healthz"), "collector", 30)

            config = parse_config(CAMPAIGN)
            make_campaign(engine, config)
            numbers = [f"7916{i:07d}" for i in range(1, CONTACTS + 1)]
            rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(numbers))
            load_contacts(engine, "pg", write_csv(tmp_path / "c.csv", rows))
            control_campaign(simulator.settings, engine, "pg", "start")
            processes.spawn("scheduler", dialer_command("scheduler"), env)
            processes.spawn("worker-a", dialer_command("worker", "--threads", "4"), env)
            processes.spawn("worker-b", dialer_command("worker", "--threads", "4"), env)

            dialled = select(func.count()).select_from(Attempt)
            wait_until(lambda: count(engine, dialled) >= CONTACTS // 3, "first dials", 60, 0.2)
            engine.dispose()
            postgres.stop("fast")
            stopped_at = time.monotonic()
            answers = {webhook_status_while_down(collector_url)}
            time.sleep(max(OUTAGE_SECONDS - (time.monotonic() - stopped_at), 0))
            answers.add(webhook_status_while_down(collector_url))
            postgres.start()

            state = wait_for_campaign(engine, 120)
            stats: dict[str, Any] = httpx.get(f"{simulator.url}/_sim/stats").json()
    finally:
        processes.stop_all()

    assert answers == {503}, "the collector must refuse what it cannot store"
    assert state == "completed", f"campaign {state}; logs in {tmp_path}"
    with Session(engine) as session:
        contacts = session.exec(select(Contact)).all()
        attempts = session.exec(select(Attempt)).all()
        ended = session.exec(
            select(ProviderEvent.attempt_id).where(
                ProviderEvent.kind == "call_ended", col(ProviderEvent.status) == "applied"
            )
        ).all()
    engine.dispose()
    assert len(contacts) == CONTACTS
    assert all(c.status in FINAL_CONTACT_STATUSES for c in contacts)
    assert not stats["reused_mess_ids"], "an attempt was dialled twice"
    assert set(stats["calls_by_number"]) == set(numbers)
    placed = {a.id for a in attempts if a.provider_id}
    assert sum(stats["calls_by_number"].values()) == len(placed)
    # No event lost: every call the provider placed has its hangup event stored and applied.
    assert placed <= set(ended)
    assert stats["webhook_retries"] > 0, "the outage should have made webhooks retry"
    assert all(c.status == "reached" for c in contacts)
