"""The scheduler loop (``dialer scheduler`` and inside ``dialer run``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from dialer.db.engine import session_scope
from dialer.db.types import utcnow
from dialer.dispatch.runtime import Enqueue
from dialer.outcomes.apply import apply_events
from dialer.outcomes.callbacks import due_for_lookup, settle
from dialer.outcomes.orphans import match_orphans
from dialer.outcomes.reconcile import Reconciler
from dialer.outcomes.sms_history import InboundScan, has_sms_campaign, recover_from_history
from dialer.scheduler import heartbeat
from dialer.scheduler.sweeps import timed_out_lookups
from dialer.scheduler.tick import DEFAULT_OPTIONS, TickOptions, TickResult, schedule_tick
from dialer.supervise import DEFAULT_BACKOFF, Backoff, describe_error, supervise

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
"""How often the scheduler runs: pause and cancel act within about a second."""
ORPHAN_SWEEP_TICKS = 20
CONNECTION_TICKS = 60
"""How often (in ticks: about 30 s) OAuth tokens about to expire are refreshed."""
HEARTBEAT_EVERY = timedelta(seconds=heartbeat.HEARTBEAT_SECONDS)


def run_tick(
    engine: Engine,
    enqueue: Enqueue,
    now: datetime,
    options: TickOptions = DEFAULT_OPTIONS,
    reconcile: Reconciler | None = None,
) -> TickResult:
    """One tick, then send its messages (after the commit) and apply stale pending events.

    Attempts past their event timeout are first looked up in MTT's call history or msapi's
    message list (outside any transaction: network calls); an SMS status found there is
    stored and applied as the event the collector missed. Agent callbacks that are over (or
    past their timeout) are settled from MTT's call info."""
    reconciled = {}
    if reconcile is not None:
        with Session(engine) as session:
            candidates, message_sids = timed_out_lookups(session, now)
            callbacks = due_for_lookup(session, now) if reconcile.has_callbacks else []
        if callbacks:
            infos = reconcile.callback_infos(callbacks)
            with session_scope(engine) as session:
                settle(session, infos, now, callbacks)
        if candidates:
            reconciled = reconcile.calls(candidates)
        if message_sids:
            recover_from_history(engine, reconcile.sms_messages(message_sids), now)
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
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Tick until ``stop`` is set, writing the heartbeat every few seconds.

    Any error in a tick (the database or Redis away, an ``IntegrityError``) is logged and the
    tick retried with a growing delay (``dialer.supervise``): nothing is lost meanwhile,
    because whatever was committed as ``queued`` but not sent is re-sent by the lost-queued
    sweep."""
    name = heartbeat.heartbeat_name()
    ticks = 0
    last_beat: datetime | None = None
    inbound = InboundScan()

    def step() -> None:
        nonlocal ticks, last_beat
        now = clock()
        if last_beat is None or now - last_beat >= HEARTBEAT_EVERY:
            heartbeat.beat(engine, name, now)
            last_beat = now
        run_tick(engine, enqueue, now, options, reconcile)
        ticks += 1
        if ticks % ORPHAN_SWEEP_TICKS == 0:
            match_orphans(engine, now=now)
        if reconcile is not None and ticks % CONNECTION_TICKS == 1:
            reconcile.refresh_connections(engine, now)
        if reconcile is not None and inbound.due(now):
            scan_inbound_sms(engine, reconcile, inbound, now)

    supervise("scheduler tick", step, stop, interval=interval, backoff=backoff)
    try:
        heartbeat.forget(engine, name)
    except Exception as exc:  # the database may be what stopped us; the row just ages out
        log.info("could not remove the scheduler heartbeat (%s)", describe_error(exc))


def scan_inbound_sms(
    engine: Engine, reconcile: Reconciler, scan: InboundScan, now: datetime
) -> int:
    """Read msapi's inbound messages since the last scan and apply those the collector
    missed (a STOP opts its sender out). Returns how many were new."""
    if not reconcile.has_sms:
        return 0
    with Session(engine) as session:
        if not has_sms_campaign(session):
            scan.tried(now, ok=False)  # nothing to look for yet: keep the first lookback
            return 0
    # Noted before the read: a read that raises is not retried every tick (slowing them all).
    scan.tried(now, ok=False)
    messages = reconcile.inbound_sms(scan.since(now))
    if messages is None:
        return 0  # msapi unreadable: the next scan looks back from the last good one
    recovered = recover_from_history(engine, messages, now)
    scan.tried(now, ok=True)
    if recovered:
        log.info("%d inbound SMS recovered from msapi's message history", recovered)
    return recovered
