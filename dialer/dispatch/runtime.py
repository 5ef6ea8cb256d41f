"""The per-process resources dispatch needs, built once at worker boot (never at import)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import dramatiq
from dramatiq.middleware import Middleware
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.campaign.config import CampaignConfig
from dialer.channels import Channel
from dialer.db.models import Campaign
from dialer.db.types import utcnow
from dialer.limits.base import RateLimiter
from dialer.providers.base import CallProvider, SmsProvider
from dialer.settings import Settings
from dialer.states import CampaignState

log = logging.getLogger(__name__)

Enqueue = Callable[[int, str, int], None]
"""``enqueue(attempt_id, channel, delay_ms)``: put a dial message on the queue."""


@dataclass
class Runtime:
    """``provider_factories`` build the pooled client of each provider slot (a channel's
    ``provider``); a slot without one is built from the settings by its channel.
    ``call_provider_factory`` and ``sms_provider_factory`` fill the sb-api and msapi slots."""

    settings: Settings
    engine: Engine
    limiter: RateLimiter
    enqueue: Enqueue
    call_provider_factory: Callable[[], CallProvider] | None = None
    sms_provider_factory: Callable[[], SmsProvider] | None = None
    clock: Callable[[], datetime] = utcnow
    provider_factories: dict[str, Callable[[], object]] = field(default_factory=dict)
    _clients: dict[str, object] = field(default_factory=dict, init=False)
    states: CampaignStates = field(init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)
    _stop_waiters: set[asyncio.Future[None]] = field(default_factory=set, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.states = CampaignStates(self.engine)
        if self.call_provider_factory is not None:
            self.provider_factories.setdefault("mtt_sb", self.call_provider_factory)
        if self.sms_provider_factory is not None:
            self.provider_factories.setdefault("msapi", self.sms_provider_factory)

    def client_for(self, channel: Channel, config: CampaignConfig) -> object:
        """The provider client a campaign of the channel sends with: one pooled client per
        slot and process, created on the event loop that uses it."""
        slot = channel.provider_slot(config)
        client = self._clients.get(slot)
        if client is None:
            factory = self.provider_factories.get(slot)
            client = (
                factory() if factory is not None else channel.build_provider(self.settings, config)
            )
            self._clients[slot] = client
        return client

    @property
    def stopping(self) -> bool:
        """The process is shutting down: claim nothing more (see ``begin_stop``)."""
        return self._stopping.is_set()

    def begin_stop(self) -> None:
        """Start a graceful stop (thread-safe, from any thread): no new claims, and dials
        still waiting for a rate token give up (``wait_for_token`` returns ``False``). Sends
        already under way are not touched: they finish and record their result."""
        with self._lock:
            self._stopping.set()
            waiters = list(self._stop_waiters)
        for waiter in waiters:
            waiter.get_loop().call_soon_threadsafe(_resolve, waiter)

    async def wait_for_token(self, key: str, rate: float) -> bool:
        """Wait for a rate token under ``key``. ``False`` when the process began to stop
        first: the caller must not send (the token, if reserved, is simply not used)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._stopping.is_set():
                return False
            self._stop_waiters.add(waiter)
        token = asyncio.ensure_future(self.limiter.acquire(key, rate))
        try:
            await asyncio.wait({token, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            with self._lock:
                self._stop_waiters.discard(waiter)
            if not token.done():
                token.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await token
        if token.cancelled():
            return False
        token.result()  # a limiter error (a bad rate, Redis down) propagates
        return True

    async def aclose(self) -> None:
        self.states.stop()
        for client in self._clients.values():
            close = getattr(client, "aclose", None)
            if close is not None:
                await close()
        self._clients.clear()
        await self.limiter.aclose()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class GracefulStop(Middleware):
    """Stops a worker in the order that strands nothing: before the worker threads stop,
    dials still waiting for a rate token give up (their attempts go back to ``queued``);
    the threads then finish the sends in flight; only after that, and before Dramatiq's
    ``AsyncIO`` middleware closes the event loop, the provider clients are closed on it.

    Add it after ``AsyncIO``: ``after_*`` hooks run in reverse order of addition."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.runtime.begin_stop()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            return
        try:
            loop_thread.run_coroutine(self.runtime.aclose())
        except Exception:  # a failed close must not stop the shutdown
            log.warning("could not close the provider clients", exc_info=True)


class CampaignStates:
    """Campaign states as this process last read them, refreshed every ``interval`` seconds
    by a task on the worker's event loop, so the last check before a request (after the rate
    wait) costs no I/O: a pause or cancel stops sends within about ``interval``.

    Pause and cancel are compliance controls, so the cache fails closed: a campaign it has
    not read, or last read more than ``max_age`` seconds ago (the refresh is failing), is
    not running."""

    def __init__(
        self,
        engine: Engine,
        interval: float = 0.5,
        *,
        max_age: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._interval = interval
        self._max_age = max_age
        self._clock = clock
        self._states: dict[int, tuple[str, float]] = {}
        self._task: asyncio.Task[None] | None = None

    def running(self, campaign_id: int) -> bool:
        """Whether the campaign was running at a read at most ``max_age`` seconds old."""
        entry = self._states.get(campaign_id)
        if entry is None:
            return False
        state, read_at = entry
        return state == CampaignState.RUNNING and self._clock() - read_at <= self._max_age

    def record(self, states: Mapping[int, str], read_at: float) -> None:
        """Store states read at ``read_at`` (this object's clock)."""
        for campaign_id, state in states.items():
            self._states[campaign_id] = (state, read_at)

    def watch(self, campaign_id: int, state: str) -> None:
        """Record a state just read from the database and keep refreshing it."""
        self.record({campaign_id: state}, self._clock())
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._refresh())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def refresh(self) -> None:
        """Read every watched campaign once. A campaign that has vanished reads as not
        running. Raises what the read raises (the entries then age out)."""
        ids = list(self._states)
        read_at = self._clock()
        found = await asyncio.to_thread(self._read, ids)
        self.record(
            {campaign_id: found.get(campaign_id, "missing") for campaign_id in ids}, read_at
        )

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except Exception:  # any failure: log and carry on; stale entries fail closed
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
