"""The dispatch runtime's safety rules: the campaign-state cache fails closed, and a stopping
worker neither claims nor sends, but puts what it claimed back to ``queued`` unspent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.models import Attempt, Contact
from dialer.dispatch.dial import DialResult, dial_attempt
from dialer.dispatch.runtime import CampaignStates, Runtime
from dialer.limits.base import RateLimiter
from dialer.providers.base import CallProvider, CallRequest, SmsProvider, SmsRequest, Submitted
from dialer.settings import Settings
from tests.dispatch.test_auth_pause import queued_attempt


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def states(clock: FakeClock, max_age: float = 5.0) -> CampaignStates:
    return CampaignStates(None, max_age=max_age, clock=clock)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("recorded", "age", "expected"),
    [
        (None, 0.0, False),  # never read: not running (was: running)
        ("running", 0.0, True),
        ("running", 5.0, True),
        ("running", 5.1, False),  # the refresh has failed for too long (was: running)
        ("paused", 0.0, False),
        ("cancelled", 0.0, False),
        ("missing", 0.0, False),  # the campaign row is gone
    ],
)
def test_campaign_states_fail_closed(recorded: str | None, age: float, expected: bool) -> None:
    clock = FakeClock()
    cache = states(clock)
    if recorded is not None:
        cache.record({7: recorded}, clock.now)
    clock.now += age
    assert cache.running(7) is expected


def test_the_refresh_loop_survives_any_exception_and_stale_entries_close() -> None:
    clock = FakeClock()
    cache = CampaignStates(None, interval=0.01, max_age=5.0, clock=clock)  # type: ignore[arg-type]
    reads: list[list[int]] = []

    def failing_read(ids: list[int]) -> dict[int, str]:
        reads.append(ids)
        if len(reads) < 3:
            raise ValueError("not a database error")
        return {7: "running"}

    cache._read = failing_read  # type: ignore[method-assign]

    async def scenario() -> tuple[bool, bool]:
        cache.watch(7, "running")
        clock.now += 6  # reads fail meanwhile: the cached "running" goes stale
        while len(reads) < 2:
            await asyncio.sleep(0.01)
        stale = cache.running(7)
        while len(reads) < 4:  # the loop carried on and a read succeeded again
            await asyncio.sleep(0.01)
        fresh = cache.running(7)
        cache.stop()
        return stale, fresh

    assert asyncio.run(scenario()) == (False, True)


class NeverGrants(RateLimiter):
    """A limiter whose token never comes (a long rate wait)."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()

    async def acquire(self, key: str, rate: float) -> None:
        self.waiting.set()
        await asyncio.Event().wait()


class Counting(CallProvider, SmsProvider):
    def __init__(self) -> None:
        self.requests = 0

    async def place_call(self, request: CallRequest) -> Submitted:
        self.requests += 1
        return Submitted(provider_id=str(request.attempt_id))

    async def send_sms(self, request: SmsRequest) -> Submitted:
        self.requests += 1
        return Submitted(provider_id=str(request.attempt_id))


def runtime_for(engine: Engine, limiter: RateLimiter, provider: Counting) -> Runtime:
    return Runtime(
        settings=Settings(),
        engine=engine,
        limiter=limiter,
        enqueue=lambda *message: None,
        call_provider_factory=lambda: provider,
        sms_provider_factory=lambda: provider,
    )


def test_a_stop_while_waiting_for_the_rate_token_puts_the_attempt_back_unspent(
    engine: Engine, tmp_path: Path
) -> None:
    attempt_id = queued_attempt(engine, tmp_path)
    limiter, provider = NeverGrants(), Counting()
    runtime = runtime_for(engine, limiter, provider)

    async def scenario() -> DialResult:
        dial = asyncio.ensure_future(dial_attempt(runtime, attempt_id))
        await asyncio.wait_for(limiter.waiting.wait(), 10)
        runtime.begin_stop()  # what SIGTERM does, from the signal's thread
        try:
            return await asyncio.wait_for(dial, 10)
        finally:
            await runtime.aclose()

    assert asyncio.run(scenario()) == DialResult.STOPPING
    assert provider.requests == 0
    with Session(engine) as session:
        attempt = session.get(Attempt, attempt_id)
        contact = session.exec(select(Contact)).one()
    assert attempt is not None
    assert attempt.status == "queued"  # the scheduler sends it again; it was never dialled
    assert attempt.tries == 0
    assert attempt.dialing_at is None
    assert contact.status == "in_progress"
    assert contact.budget_used == 0


def test_a_stopping_worker_claims_nothing(engine: Engine, tmp_path: Path) -> None:
    attempt_id = queued_attempt(engine, tmp_path)
    provider = Counting()
    runtime = runtime_for(engine, NeverGrants(), provider)
    runtime.begin_stop()
    assert asyncio.run(dial_attempt(runtime, attempt_id)) == DialResult.STOPPING
    with Session(engine) as session:
        attempt = session.get(Attempt, attempt_id)
    assert attempt is not None
    assert (attempt.status, attempt.tries) == ("queued", 0)
    assert provider.requests == 0


class AgingLimiter(RateLimiter):
    """Grants at once, but the wait 'takes' ``seconds`` on ``clock``."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds

    async def acquire(self, key: str, rate: float) -> None:
        self.clock.now += self.seconds


def test_a_dial_whose_campaign_state_went_stale_is_released_not_sent(
    engine: Engine, tmp_path: Path
) -> None:
    attempt_id = queued_attempt(engine, tmp_path)
    clock, provider = FakeClock(), Counting()
    runtime = runtime_for(engine, AgingLimiter(clock, 6.0), provider)
    runtime.states = CampaignStates(engine, interval=60, max_age=5.0, clock=clock)

    async def dial() -> DialResult:
        try:
            return await dial_attempt(runtime, attempt_id)
        finally:
            await runtime.aclose()

    assert asyncio.run(dial()) == DialResult.GATED
    assert provider.requests == 0
    with Session(engine) as session:
        attempt = session.get(Attempt, attempt_id)
        contact = session.exec(select(Contact)).one()
    assert attempt is not None
    assert attempt.status == "cancelled"
    assert attempt.counts_budget is False
    assert contact.status == "pending"
    assert contact.budget_used == 0
