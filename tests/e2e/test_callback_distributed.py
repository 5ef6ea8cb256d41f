"""Agent callbacks in the distributed topology: PostgreSQL + Redis, a scheduler process and two
worker processes, the simulator as a process of its own and the collector in this one.

An IVR menu's ``callback`` digit feeds a callback campaign that connects the contact to an
agent; callbacks no agent takes are retried without spending the contact's budget until the
campaign pauses; a campaign never has more callbacks live than it has agents; and no
attempt id reaches the CallBack API twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from dialer.campaign.config import PROVIDER_MAX_RPS, parse_config
from dialer.connections import store
from dialer.connections.sealing import Sealer
from dialer.control import control_campaign
from dialer.db.models import Attempt, Campaign, Contact, ProviderEvent
from dialer.embedded import wait_until_done
from dialer.export.run import export_campaign
from dialer.loader.load import load_contacts
from dialer.logs import MaskingFormatter, add_secrets
from dialer.providers.factory import build_callback_client
from dialer.providers.mtt_callback_answers import CallbackCallInfo
from dialer.sandbox import connect_sandbox_mtt_business
from dialer.settings import Settings
from dialer.simulator.config import Bitrix24Line, CallOutcome, Override, SimulatorConfig
from dialer.states import LIVE_ATTEMPT_STATUSES, CampaignState
from tests.support.factories import campaign_toml, fast_retry, make_campaign, write_csv
from tests.support.processes import EVERYONE_ANSWERS, Cluster, simulated_mtt

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "test-token-callback-0123456789"
SPEED = 40
"""Simulated seconds per real second: an agent rung 15 s gives up in under a second."""
DONE_SECONDS = 45.0

AGENTS = ("74997090101", "74997090102")
"""Agents who always pick up."""
ABSENT_AGENTS = ("74997090201", "74997090202")
"""Agents who never pick up."""
CALLER = "79161000003"
"""The one IVR contact who presses the callback digit."""
CALLBACK_DIGIT = 4

WORKPLACES = ("88314077716581", "883140777380595")
"""MTT Business workplaces (the simulated account's) who always pick up."""
LINES = ("reg1332", "sip7")
"""Bitrix24 lines whose employees always pick up."""

OVERRIDES = {
    **{agent: Override(outcome=CallOutcome.ANSWERED) for agent in AGENTS + WORKPLACES},
    **{agent: Override(outcome=CallOutcome.NO_ANSWER) for agent in ABSENT_AGENTS},
    CALLER: Override(dtmf=CALLBACK_DIGIT),
}


@pytest.fixture
def cluster(pg_engine: Engine, pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """The topology with its scheduler and two workers running; every contact answers, IVR
    contacts press 1 or nothing (``CALLER`` presses the callback digit), a conversation
    lasts 40-60 simulated seconds."""
    with running_cluster(pg_engine, pg_url, redis_url, tmp_path) as world:
        yield world


@contextmanager
def running_cluster(
    pg_engine: Engine, pg_url: str, redis_url: str, tmp_path: Path, log_level: str = "WARNING"
) -> Iterator[Cluster]:
    base = Settings(database_url=pg_url, redis_url=redis_url, webhook_token=SecretStr(TOKEN))
    sim = SimulatorConfig(
        speed=SPEED,
        seed=11,
        allow_http_notify=True,
        outcome_weights=EVERYONE_ANSWERS,
        listen_seconds=(3, 6),
        dtmf_weights={"1": 1, "none": 1},
        transfer_seconds=(40, 60),
        overrides=OVERRIDES,
        uis_virtual_numbers=["74950000000"],  # the campaigns' caller id
        bitrix24_lines={
            line: Bitrix24Line(user_id=index + 1, agent_answers=True)
            for index, line in enumerate(LINES)
        },
    )
    with simulated_mtt(
        base, pg_engine, tmp_path, sim, HTTP_READ_TIMEOUT="3", LOG_LEVEL=log_level
    ) as (
        simulator,
        env,
        processes,
    ):
        world = Cluster(simulator.settings, pg_engine, simulator.url, processes, env, tmp_path)
        world.dialer("scheduler", "scheduler")
        world.dialer("worker-a", "worker", "--threads", "4")
        world.dialer("worker-b", "worker", "--threads", "4")
        yield world


def callback_campaign(
    cluster: Cluster,
    name: str,
    agents: Sequence[str],
    *,
    numbers: Sequence[str] = (),
    max_attempts: int = 3,
    pause_after_misses: int = 5,
    provider: str = "mtt",
) -> None:
    """Create and start a callback campaign, with ``numbers`` as its leads (none: it waits
    for an IVR menu to feed it)."""
    text = campaign_toml(name=name, channel="callback", text="Клиент {name}. Соединяю.")
    config = parse_config(
        text
        + f"""
[callback]
provider = "{provider}"
agents = {json.dumps(list(agents))}
agent_timeout = "15s"
max_talk = "5m"
pause_after_misses = {pause_after_misses}
"""
        + fast_retry(max_attempts, rps=int(PROVIDER_MAX_RPS.get(provider, 20)))
    )
    make_campaign(cluster.engine, config)
    if numbers:
        load_contacts(cluster.engine, name, leads_csv(cluster.tmp / f"{name}.csv", numbers))
    control_campaign(cluster.settings, cluster.engine, name, "start")


def leads_csv(path: Path, numbers: Sequence[str]) -> Path:
    rows = "".join(f"Лид {i},{number},A-{i}\n" for i, number in enumerate(numbers))
    return write_csv(path, "name,phone,order\n" + rows)


def attempts_of(engine: Engine, campaign: str) -> list[Attempt]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Attempt)
                .join(Campaign, col(Campaign.id) == Attempt.campaign_id)
                .where(Campaign.name == campaign)
                .order_by(col(Attempt.id))
            ).all()
        )


def contacts_of(engine: Engine, campaign: str) -> list[Contact]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Contact)
                .join(Campaign, col(Campaign.id) == Contact.campaign_id)
                .where(Campaign.name == campaign)
                .order_by(col(Contact.id))
            ).all()
        )


def campaign_row(engine: Engine, name: str) -> Campaign:
    with Session(engine) as session:
        return session.exec(select(Campaign).where(Campaign.name == name)).one()


def assert_each_attempt_dialled_once(cluster: Cluster, attempts: Sequence[Attempt]) -> None:
    """Every attempt reached MTT as one callback: distinct call ids, and the simulator sent
    the events of exactly one callback to each attempt's callBackURL. A connected callback's
    ``callDescription`` (as the simulator keeps it) names its attempt."""
    call_ids = [a.provider_id for a in attempts]
    assert None not in call_ids
    assert len(set(call_ids)) == len(attempts)
    ids = [a.id for a in attempts]
    with Session(cluster.engine) as session:
        events = session.exec(
            select(ProviderEvent.attempt_id, ProviderEvent.provider_id, ProviderEvent.status)
            .where(ProviderEvent.route == "callback")
            .where(col(ProviderEvent.attempt_id).in_(ids))
        ).all()
    calls_by_attempt: dict[int, set[str | None]] = defaultdict(set)
    for attempt_id, provider_id, status in events:
        assert status == "applied"
        calls_by_attempt[attempt_id or 0].add(provider_id)
    assert calls_by_attempt == {a.id: {a.provider_id} for a in attempts}
    connected = [a for a in attempts if a.outcome == "connected"]
    infos = asyncio.run(call_infos(cluster.settings, [a.provider_id or "" for a in connected]))
    assert [info.description for info in infos] == [str(a.id) for a in connected]


async def call_infos(settings: Settings, call_ids: Sequence[str]) -> list[CallbackCallInfo]:
    client = build_callback_client(settings)
    try:
        return [await client.get_call_info(call_id) for call_id in call_ids]
    finally:
        await client.aclose()


@pytest.mark.timeout(120)
def test_ivr_callback_digit_is_called_back_by_an_agent(cluster: Cluster) -> None:
    callback_campaign(cluster, "callme", AGENTS)
    menu = (
        "[[menu]]\ndigit = 1\naction = 'notify'\nlabel = 'pickup'\n"
        f"[[menu]]\ndigit = {CALLBACK_DIGIT}\naction = 'callback'\ncampaign = 'callme'\n"
        "label = 'call me back'\n"
    )
    ivr = campaign_toml(name="order-ready", channel="ivr", text="Заказ {order} готов", menu=menu)
    make_campaign(cluster.engine, parse_config(ivr + fast_retry(max_attempts=1)))
    numbers = [f"791610000{i:02d}" for i in range(1, 7)]
    assert CALLER in numbers
    load_contacts(cluster.engine, "order-ready", leads_csv(cluster.tmp / "ivr.csv", numbers))
    control_campaign(cluster.settings, cluster.engine, "order-ready", "start")

    assert wait_until_done(cluster.engine, "order-ready", DONE_SECONDS) == "completed"
    assert wait_until_done(cluster.engine, "callme", DONE_SECONDS) == "completed"

    pressed = {c.phone: c for c in contacts_of(cluster.engine, "order-ready")}
    assert pressed[CALLER].dtmf == str(CALLBACK_DIGIT)
    assert all(c.dtmf != str(CALLBACK_DIGIT) for n, c in pressed.items() if n != CALLER)
    [contact] = contacts_of(cluster.engine, "callme")
    assert contact.phone == CALLER
    assert contact.source is not None
    assert "order-ready" in contact.source
    assert contact.status == "reached"
    assert contact.fields_json == pressed[CALLER].fields_json
    assert json.loads(contact.fields_json)["order"] == "A-2"
    [attempt] = attempts_of(cluster.engine, "callme")
    assert attempt.contact_id == contact.id
    assert attempt.outcome == "connected"
    assert attempt.agent in AGENTS
    assert attempt.talk_seconds is not None
    assert attempt.talk_seconds > 0
    assert attempt.cost is not None
    assert contact.agent == attempt.agent
    assert_each_attempt_dialled_once(cluster, [attempt])


@pytest.mark.timeout(120)
def test_agent_misses_are_retried_without_budget_then_pause(cluster: Cluster) -> None:
    misses = 3
    callback_campaign(
        cluster,
        "nobody-home",
        ABSENT_AGENTS,
        numbers=["79162000001"],
        max_attempts=1,
        pause_after_misses=misses,
    )

    assert wait_until_done(cluster.engine, "nobody-home", DONE_SECONDS) == "paused"

    campaign = campaign_row(cluster.engine, "nobody-home")
    assert campaign.state_reason is not None
    assert f"missed {misses} callbacks in a row" in campaign.state_reason
    attempts = attempts_of(cluster.engine, "nobody-home")
    # One contact and one attempt live at a time: the campaign pauses after the third.
    assert len(attempts) == misses
    assert all(a.outcome == "agent_no_answer" for a in attempts)
    assert not any(a.counts_budget for a in attempts)
    assert all(a.agent is None for a in attempts)
    [contact] = contacts_of(cluster.engine, "nobody-home")
    assert contact.budget_used == 0
    assert contact.attempts == misses
    assert contact.status == "retry_wait"
    assert_each_attempt_dialled_once(cluster, attempts)


@pytest.mark.timeout(120)
def test_no_more_callbacks_live_than_agents(cluster: Cluster) -> None:
    numbers = [f"791630000{i:02d}" for i in range(10)]
    callback_campaign(cluster, "leads", AGENTS, numbers=numbers)

    peak_polled = watch_live_callbacks(cluster.engine, "leads", DONE_SECONDS)

    attempts = attempts_of(cluster.engine, "leads")
    assert peak_polled <= len(AGENTS)
    # From the workers' and the collector's timestamps: dialled to agent freed.
    spans = [(a.dialing_at, a.slot_released_at) for a in attempts]
    assert peak_overlap(spans) == len(AGENTS)
    contacts = contacts_of(cluster.engine, "leads")
    assert len(contacts) == len(numbers)
    assert all(c.status == "reached" for c in contacts)
    assert len(attempts) == len(numbers)
    assert all(a.outcome == "connected" and a.agent in AGENTS for a in attempts)
    assert_each_attempt_dialled_once(cluster, attempts)


def watch_live_callbacks(engine: Engine, name: str, timeout: float) -> int:
    """Poll until the campaign completes; the most attempts it had live and holding an agent
    at once (queued ones count: the scheduler reserves an agent for them)."""
    peak = 0
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            state, live = session.exec(
                select(Campaign.state, func.count(col(Attempt.id)))
                .outerjoin(
                    Attempt,
                    (col(Attempt.campaign_id) == Campaign.id)
                    & col(Attempt.status).in_(LIVE_ATTEMPT_STATUSES)
                    & col(Attempt.slot_released_at).is_(None),
                )
                .where(Campaign.name == name)
                .group_by(col(Campaign.state))
            ).one()
        peak = max(peak, int(live))
        if state == CampaignState.COMPLETED:
            return peak
        if time.monotonic() > deadline:
            raise TimeoutError(f"campaign {name!r} not completed after {timeout:g} s")
        time.sleep(0.05)


def peak_overlap(spans: Sequence[tuple[datetime | None, datetime | None]]) -> int:
    """The most ``(start, end)`` spans open at once; an end frees before a start at the same
    instant."""
    marks = sorted(
        [(start, 1) for start, _ in spans if start is not None]
        + [(end, -1) for _, end in spans if end is not None]
    )
    assert len(marks) == 2 * len(spans), "a span without its start or end"
    open_now = peak = 0
    for _, step in marks:
        open_now += step
        peak = max(peak, open_now)
    return peak


PROVIDER_ROUTES = {
    "mtt": "callback",
    "uis": "uis",
    "mtt_business": "mttbiz",
    "bitrix24": "bitrix24",
}
"""Each callback provider, and the inbox route its events come in by."""
PROVIDER_AGENTS = {"mtt": AGENTS, "uis": AGENTS, "mtt_business": WORKPLACES, "bitrix24": LINES}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("provider", sorted(PROVIDER_ROUTES))
def test_a_leads_campaign_connects_on_each_provider(cluster: Cluster, provider: str) -> None:
    """The same campaign file but for ``provider``: every lead connected to an agent, each
    attempt placed once, and its events matched to it."""
    numbers = [f"791640000{i:02d}" for i in range(4)]
    name = f"leads-{provider}"
    agents = PROVIDER_AGENTS[provider]
    if provider == "mtt_business":
        connect_sandbox_mtt_business(cluster.settings, cluster.engine, "https://crm.example")
    callback_campaign(cluster, name, agents, numbers=numbers, provider=provider)
    state = wait_until_done(cluster.engine, name, DONE_SECONDS)
    assert state == "completed", campaign_row(cluster.engine, name).state_reason
    contacts = contacts_of(cluster.engine, name)
    attempts = attempts_of(cluster.engine, name)
    assert [c.status for c in contacts] == ["reached"] * len(numbers)
    assert [a.outcome for a in attempts] == ["connected"] * len(numbers)
    # who answered: the agent's number or workplace; for Bitrix24 the employee (USER_ID)
    answered = {"1", "2"} if provider == "bitrix24" else set(agents)
    assert all(a.agent in answered for a in attempts)
    assert all((a.talk_seconds or 0) > 0 for a in attempts)
    call_ids = [a.provider_id for a in attempts]
    assert None not in call_ids
    assert len(set(call_ids)) == len(attempts)
    with Session(cluster.engine) as session:
        events = session.exec(
            select(ProviderEvent.provider_id, ProviderEvent.status).where(
                ProviderEvent.route == PROVIDER_ROUTES[provider]
            )
        ).all()
    assert events
    with Session(cluster.engine) as session:
        unmatched = [
            json.loads(payload or "{}")
            for payload in session.exec(
                select(ProviderEvent.payload_json).where(ProviderEvent.status != "applied")
            ).all()
        ]
    # every event found its attempt (MTT Business's "recorded" names only the PBX's call id,
    # which the call's earlier events tied to our callback)
    assert unmatched == []
    if provider != "mtt_business":  # its notifications name calls by other ids
        assert {call_id for call_id, _ in events} == set(call_ids)


def business_counters(cluster: Cluster) -> dict[str, int]:
    answer = httpx.get(f"{cluster.sim_url}/_sim/mtt-business", timeout=10)
    return {k: v for k, v in answer.json().items() if isinstance(v, int)}


def expire_business_tokens(cluster: Cluster, *, refresh: bool) -> None:
    httpx.post(
        f"{cluster.sim_url}/_sim/mtt-business/expire",
        json={"access": True, "refresh": refresh},
        timeout=10,
    ).raise_for_status()


def wait_for(check: Callable[[], bool], what: str, timeout: float = DONE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


@pytest.mark.timeout(180)
def test_mtt_business_tokens_refreshed_once_across_workers_and_a_lapse_pauses(
    cluster: Cluster,
) -> None:
    """Both workers hold the access token when MTT stops accepting it: the refresh token is
    sent once (the simulator refuses a second use), every call goes through once. Then the
    refresh token lapses too: the campaign pauses saying so, and connecting again repairs."""
    connect_sandbox_mtt_business(cluster.settings, cluster.engine, "https://crm.example")
    numbers = [f"791650000{i:02d}" for i in range(12)]
    callback_campaign(cluster, "oauth", WORKPLACES, numbers=numbers, provider="mtt_business")
    wait_for(lambda: business_counters(cluster)["make_calls"] >= 2, "first calls")
    expire_business_tokens(cluster, refresh=False)
    wait_for(lambda: business_counters(cluster)["make_calls"] >= 6, "calls after the expiry")
    counters = business_counters(cluster)
    assert counters["api_unauthorized"] >= 1  # a token was refused mid-campaign...
    assert counters["refresh_uses"] == 1  # ...refreshed once for both workers
    assert counters["refresh_rejected"] == 0

    expire_business_tokens(cluster, refresh=True)
    assert wait_until_done(cluster.engine, "oauth", DONE_SECONDS) == "paused"
    reason = campaign_row(cluster.engine, "oauth").state_reason or ""
    assert reason.startswith("reconnect MTT Business (dialer connect mtt-business)"), reason

    connect_sandbox_mtt_business(cluster.settings, cluster.engine, "https://crm.example")
    control_campaign(cluster.settings, cluster.engine, "oauth", "resume")
    assert wait_until_done(cluster.engine, "oauth", DONE_SECONDS) == "completed"
    contacts = contacts_of(cluster.engine, "oauth")
    assert [c.status for c in contacts] == ["reached"] * len(numbers)
    attempts = attempts_of(cluster.engine, "oauth")
    placed = [a for a in attempts if a.provider_id is not None]
    assert len({a.provider_id for a in placed}) == len(placed)  # each placed once
    assert business_counters(cluster)["make_calls"] == len(placed)


@pytest.mark.timeout(240)
def test_no_secret_reaches_a_log_or_an_export(
    pg_engine: Engine,
    pg_url: str,
    redis_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every provider's campaign in one cluster whose scheduler and workers log at DEBUG:
    no credential, key, webhook code or OAuth token appears in their logs, the collector's
    (this process), the inbox or the exports."""
    caplog.set_level(logging.DEBUG)
    with running_cluster(pg_engine, pg_url, redis_url, tmp_path, "DEBUG") as cluster:
        connect_sandbox_mtt_business(cluster.settings, cluster.engine, "https://crm.example")
        for index, provider in enumerate(sorted(PROVIDER_ROUTES)):
            numbers = [f"79166{index}0000{i}" for i in range(2)]
            callback_campaign(
                cluster,
                f"s-{provider}",
                PROVIDER_AGENTS[provider],
                numbers=numbers,
                provider=provider,
            )
        for provider in sorted(PROVIDER_ROUTES):
            assert wait_until_done(cluster.engine, f"s-{provider}", DONE_SECONDS) == "completed"
        tokens = store.current(cluster.engine, "mtt_business", Sealer(cluster.settings.secret_key))
        assert tokens is not None
        secrets = {*cluster.settings.secret_values(), tokens.access_token, tokens.refresh_token}
        logs = {
            path.name: path.read_text("utf-8", errors="replace")
            for path in cluster.processes.logs.glob("*.log")
            if not path.name.startswith("simulator")  # the provider's side knows them
        }
        assert any("DEBUG" in text for text in logs.values())  # they did log at DEBUG
        exported: dict[str, str] = {}
        for provider in sorted(PROVIDER_ROUTES):
            for level in ("contacts", "attempts"):
                out = tmp_path / f"{provider}-{level}.csv"
                export_campaign(cluster.engine, f"s-{provider}", out, fmt="csv", level=level)
                exported[out.name] = out.read_text("utf-8")
        with Session(cluster.engine) as session:
            inbox = "\n".join(
                f"{raw}\n{payload}"
                for raw, payload in session.exec(
                    select(ProviderEvent.raw, ProviderEvent.payload_json)
                ).all()
            )
    # This process's records as the collector's own logging writes them (masked, as
    # configure_logging sets it up); the raw records include httpx's DEBUG request lines.
    add_secrets(*cluster.settings.secret_values())
    formatter = MaskingFormatter("%(levelname)s %(name)s %(message)s")
    collector = "\n".join(formatter.format(record) for record in caplog.records)
    assert collector
    texts = {**logs, **exported, "collector (this process)": collector, "inbox": inbox}
    leaks = [
        (where, secret[:4] + "...")
        for where, text in texts.items()
        for secret in secrets
        if len(secret) >= 8 and secret in text
    ]
    assert leaks == []
