"""The simulator's in-memory world: configuration, current faults, stores, stats, RNGs and
the background tasks that deliver events. One instance per app, built by ``create_app``."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime

import httpx

from dialer.simulator.config import Faults, SimulatorConfig
from dialer.simulator.records import CallRecord, MessageRecord
from dialer.simulator.stats import Stats

log = logging.getLogger(__name__)

WEBHOOK_CONNECTIONS = 50
"""Webhook requests in flight at once, each on a kept-alive connection. Further events wait
for a slot without timing out. The slots keep httpcore's pool queue empty: its bookkeeping
costs (queued requests x connections) on every request, and a backlog of a few hundred
events made the simulator CPU-bound, slow to accept calls and slow to deliver."""
WEBHOOK_LIMITS = httpx.Limits(
    max_connections=WEBHOOK_CONNECTIONS, max_keepalive_connections=WEBHOOK_CONNECTIONS
)


class IdFactory:
    """MTT-looking identifiers, reproducible for a given RNG."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._last_call = rng.randrange(0x00035C7D00000000, 0x00035C7E00000000)

    def call_id(self) -> str:
        """16 hex digits, increasing, like ``00035c7d92bb0971``."""
        self._last_call += self._rng.randint(1, 255)
        return f"{self._last_call:016x}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def message_sid(self) -> str:
        """``msg<uuid4>``, like ``msgb0789d2f-8932-400d-8768-b6c12abbb872``."""
        return f"msg{self.uuid()}"

    def conf_id(self) -> str:
        """An ``h323_conf_id`` like ``07A9B59A 05F65003 13B136EE D90263EE``."""
        return " ".join(f"{self._rng.getrandbits(32):08X}" for _ in range(4))


def _rng(seed: int | None, purpose: str) -> random.Random:
    return random.Random(None if seed is None else f"{seed}:{purpose}")


class Simulator:
    """State shared by the endpoints and the event tasks of one simulator app."""

    def __init__(
        self, config: SimulatorConfig, webhook_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._transport = webhook_transport
        self._client: httpx.AsyncClient | None = None
        self._webhook_slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = threading.Event()
        """Set when the server stops (from any thread): held answers are released."""
        self._clear()

    def _clear(self) -> None:
        seed = self.config.seed
        self.outcome_rng = _rng(seed, "outcomes")
        self.fault_rng = _rng(seed, "faults")
        self.ids = IdFactory(_rng(seed, "ids"))
        self.faults: Faults = self.config.faults.model_copy(deep=True)
        self.stats = Stats()
        self.calls: dict[str, CallRecord] = {}
        self.messages: dict[str, MessageRecord] = {}

    def scaled(self, simulated_seconds: float) -> float:
        """Real seconds for ``simulated_seconds`` at the configured speed."""
        return simulated_seconds / self.config.speed

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def http(self) -> httpx.AsyncClient:
        """The webhook client, created on first use inside the running loop."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, limits=WEBHOOK_LIMITS, follow_redirects=False
            )
        return self._client

    def webhook_slots(self) -> asyncio.Semaphore:
        """Held while a webhook request is in flight (see ``WEBHOOK_CONNECTIONS``)."""
        if self._webhook_slots is None:
            self._webhook_slots = asyncio.Semaphore(WEBHOOK_CONNECTIONS)
        return self._webhook_slots

    def spawn(self, work: Coroutine[object, object, None]) -> None:
        """Run ``work`` in the background; it is cancelled by ``reset`` and ``aclose``."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("simulator event task failed", exc_info=task.exception())

    @property
    def pending_tasks(self) -> int:
        return len(self._tasks)

    async def cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def reset(self) -> None:
        """Back to the state of a fresh start: no calls, messages or stats, the configured
        faults and a reseeded RNG. Pending events are cancelled, not delivered."""
        await self.cancel_tasks()
        self._clear()

    async def aclose(self) -> None:
        self.closing.set()
        await self.cancel_tasks()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._webhook_slots = None


async def play_in_time(
    sim: Simulator,
    moments: Sequence[float],
    step: Callable[[int], Awaitable[None]],
    end: Callable[[], None],
) -> None:
    """Run ``step(i)`` at each simulated moment ``moments[i]`` (seconds from now, scaled by
    the speed), in order. The call ends (``end()``) when its last step is due, before that
    step runs, whether or not its event reaches the receiver, and in any case on the way
    out (cancelled, failed); ``end`` must be idempotent."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        for index, moment in enumerate(moments):
            delay = start + sim.scaled(moment) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if index == len(moments) - 1:
                end()
            await step(index)
    finally:
        end()
