"""The per-process resources dispatch needs, built once at worker boot (never at import)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from dialer.db.types import utcnow
from dialer.limits.base import RateLimiter
from dialer.providers.base import CallProvider, SmsProvider
from dialer.settings import Settings

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


_current: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("dispatch runtime not initialised (call set_runtime at worker boot)")
    return _current
