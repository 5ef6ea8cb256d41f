"""The per-process resources dispatch needs, built once at worker boot (never at import)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from dialer.db.models import Campaign
from dialer.db.types import utcnow
from dialer.limits.base import RateLimiter
from dialer.providers.base import CallProvider, SmsProvider
from dialer.settings import Settings

log = logging.getLogger(__name__)

Enqueue = Callable[[int, str, int], None]
"""``enqueue(attempt_id, channel, delay_ms)``: put a dial message on the queue."""


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    limiter: RateLimiter
    enqueue: Enqueue
    call_provider_factory: Callable[[], CallProvider]
    sms_provider_factory: Callable[[], SmsProvider]
    clock: Callable[[], datetime] = utcnow
    _call: CallProvider | None = field(default=None, init=False)
    _sms: SmsProvider | None = field(default=None, init=False)
    states: CampaignStates = field(init=False)

    def __post_init__(self) -> None:
        self.states = CampaignStates(self.engine)

    @property
    def call_provider(self) -> CallProvider:
        """One pooled client per process, created on the event loop that uses it."""
        if self._call is None:
            self._call = self.call_provider_factory()
        return self._call

    @property
    def sms_provider(self) -> SmsProvider:
        if self._sms is None:
            self._sms = self.sms_provider_factory()
        return self._sms

    async def aclose(self) -> None:
        self.states.stop()
        for provider in (self._call, self._sms):
            if provider is not None:
                await provider.aclose()
        await self.limiter.aclose()


def close_runtime_on_worker_loop(runtime: Runtime) -> None:
    """Close the runtime's pooled clients on the worker's event loop (where they were made).
    Call before the worker stops: its loop goes away with it."""
    from dramatiq.asyncio import get_event_loop_thread

    loop_thread = get_event_loop_thread()
    if loop_thread is not None:
        loop_thread.run_coroutine(runtime.aclose())


class CampaignStates:
    """Campaign states as this process last read them, refreshed every ``interval`` seconds
    by a task on the worker's event loop, so the last check before a request (after the rate
    wait) costs no I/O: a pause or cancel stops sends within about ``interval``."""

    def __init__(self, engine: Engine, interval: float = 0.5) -> None:
        self._engine = engine
        self._interval = interval
        self._states: dict[int, str] = {}
        self._task: asyncio.Task[None] | None = None

    def running(self, campaign_id: int) -> bool:
        """Whether the campaign was running at the last refresh (unknown ids: yes; the
        claim checked it moments ago)."""
        return self._states.get(campaign_id, "running") == "running"

    def watch(self, campaign_id: int, state: str) -> None:
        """Record a state just read from the database and keep refreshing it."""
        self._states[campaign_id] = state
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._refresh())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            ids = list(self._states)
            try:
                self._states.update(await asyncio.to_thread(self._read, ids))
            except SQLAlchemyError:
                log.warning("could not refresh campaign states", exc_info=True)

    def _read(self, ids: list[int]) -> dict[int, str]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(Campaign.id, Campaign.state).where(col(Campaign.id).in_(ids))
            ).all()
        return {int(campaign_id or 0): state for campaign_id, state in rows}


_current: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("dispatch runtime not initialised (call set_runtime at worker boot)")
    return _current
