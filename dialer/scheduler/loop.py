"""The scheduler loop (``dialer scheduler`` and inside ``dialer run``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from dialer.db.types import utcnow
from dialer.dispatch.runtime import Enqueue
from dialer.outcomes.apply import apply_events
from dialer.outcomes.orphans import match_orphans
from dialer.outcomes.reconcile import Reconciler
from dialer.scheduler.sweeps import timed_out_candidates
from dialer.scheduler.tick import DEFAULT_OPTIONS, TickOptions, TickResult, schedule_tick

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
"""How often the scheduler runs: pause and cancel act within about a second."""
ORPHAN_SWEEP_TICKS = 20


def run_tick(
    engine: Engine,
    enqueue: Enqueue,
    now: datetime,
    options: TickOptions = DEFAULT_OPTIONS,
    reconcile: Reconciler | None = None,
) -> TickResult:
    """One tick, then send its messages (after the commit) and apply stale pending events.

    Attempts past their event timeout are first looked up in MTT's call history (outside
    any transaction: it is a network call)."""
    reconciled = {}
    if reconcile is not None:
        with Session(engine) as session:
            candidates = timed_out_candidates(session, now)
        if candidates:
            reconciled = reconcile(candidates)
    result = schedule_tick(engine, now, options, reconciled)
    for attempt_id, channel in result.enqueue:
        enqueue(attempt_id, channel, 0)
    if result.pending_events:
        apply_events(engine, result.pending_events, now)
    for name in result.completed:
        log.info("campaign %s completed", name)
    return result


def run_scheduler(
    engine: Engine,
    enqueue: Enqueue,
    stop: threading.Event,
    *,
    interval: float = TICK_SECONDS,
    clock: Callable[[], datetime] = utcnow,
    options: TickOptions = DEFAULT_OPTIONS,
    reconcile: Reconciler | None = None,
) -> None:
    """Tick until ``stop`` is set. A database hiccup is logged and retried next tick."""
    ticks = 0
    while not stop.is_set():
        try:
            now = clock()
            run_tick(engine, enqueue, now, options, reconcile)
            ticks += 1
            if ticks % ORPHAN_SWEEP_TICKS == 0:
                match_orphans(engine, now=now)
        except OperationalError:
            log.warning("scheduler tick failed; retrying", exc_info=True)
        stop.wait(interval)
