"""One supervisor for every long-running loop (scheduler, applier, state refreshers).

A loop is a step run again and again. Whatever a step raises (a database that went away, a
Redis error from an enqueue, an ``IntegrityError``, a bug) is logged as one line — the
exception's first line with phone numbers masked, never the SQL parameters that follow it —
and the loop waits, doubling the wait after each failure in a row up to a cap, then tries
again. The first success resets the wait. Setting the stop event (or cancelling the task)
ends the loop within one wait.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dialer.logs import mask_phone

log = logging.getLogger(__name__)

MAX_ERROR_TEXT = 200
"""Most characters of an exception's text put in the log line."""


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait after ``failures`` failures in a row: ``first`` doubled each time, at
    most ``cap``."""

    first: float = 0.5
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return float(min(self.cap, self.first * 2 ** min(failures - 1, 32)))


DEFAULT_BACKOFF = Backoff()


def describe_error(exc: BaseException) -> str:
    """``Type: first line of the text``, masked and shortened: safe for a log line."""
    lines = str(exc).strip().splitlines()
    text = mask_phone(lines[0] if lines else "")[:MAX_ERROR_TEXT]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Supervisor:
    """Failure bookkeeping shared by the thread and the asyncio loops."""

    def __init__(self, name: str, backoff: Backoff = DEFAULT_BACKOFF) -> None:
        self.name = name
        self.backoff = backoff
        self.failures = 0

    def succeeded(self) -> None:
        if self.failures:
            log.info("%s recovered after %d failure(s)", self.name, self.failures)
        self.failures = 0

    def failed(self, exc: Exception) -> float:
        """Log the failure; return the seconds to wait before the next try."""
        self.failures += 1
        wait = self.backoff.delay(self.failures)
        log.warning(
            "%s failed (%s); retrying in %.1f s (failure %d in a row)",
            self.name,
            describe_error(exc),
            wait,
            self.failures,
        )
        log.debug("%s failure detail", self.name, exc_info=exc)
        return wait


def supervise(
    name: str,
    step: Callable[[], object],
    stop: threading.Event,
    *,
    interval: float,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Run ``step`` every ``interval`` seconds until ``stop`` is set, surviving any
    ``Exception`` it raises (see the module docstring)."""
    supervisor = Supervisor(name, backoff)
    while not stop.is_set():
        try:
            step()
        except Exception as exc:
            stop.wait(supervisor.failed(exc))
            continue
        supervisor.succeeded()
        stop.wait(interval)


async def supervise_async(
    name: str,
    step: Callable[[], Awaitable[object]],
    *,
    interval: float,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """The asyncio twin of ``supervise``: runs until its task is cancelled."""
    supervisor = Supervisor(name, backoff)
    while True:
        try:
            await step()
        except Exception as exc:
            await asyncio.sleep(supervisor.failed(exc))
            continue
        supervisor.succeeded()
        await asyncio.sleep(interval)
