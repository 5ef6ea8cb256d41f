"""Reconciling calls whose final event never came, from MTT's call history.

Before an attempt with no final event is written off as ``unknown``, the scheduler asks the
Telecom API (``getCallHistory``) what happened to calls to that number since the attempt was
dialled. History records carry no ``messId``, so a record matches an attempt by the dialled
number (``cld``/``clid``) and time: the earliest record connected at or after the dial.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.errors import ProviderError
from dialer.providers.telecom_records import CallRecord
from dialer.settings import Settings

log = logging.getLogger(__name__)

CLOCK_SLACK = timedelta(minutes=1)
"""How far a history record's time may precede our dial time (clocks differ)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A live call attempt past its event timeout."""

    attempt_id: int
    number: str
    dialed_at: datetime


@dataclass(frozen=True, slots=True)
class Reconciled:
    cause: int
    duration: int


Reconciler = Callable[[Sequence[Candidate]], dict[int, Reconciled]]


def match_history(
    candidates: Sequence[Candidate], records: Sequence[CallRecord]
) -> dict[int, Reconciled]:
    """Pair attempts with history records (pure). Each record settles at most one attempt."""
    used: set[int] = set()
    found: dict[int, Reconciled] = {}
    for candidate in sorted(candidates, key=lambda c: c.dialed_at):
        best: tuple[datetime, int] | None = None
        for index, record in enumerate(records):
            if index in used or record.cld != candidate.number or record.disconnect_cause is None:
                continue
            when = record.connect_time
            if when is None or when < candidate.dialed_at - CLOCK_SLACK:
                continue
            if best is None or when < best[0]:
                best = (when, index)
        if best is not None:
            used.add(best[1])
            record = records[best[1]]
            found[candidate.attempt_id] = Reconciled(
                record.disconnect_cause or 0, record.used_quantity or 0
            )
    return found


def build_reconciler(settings: Settings) -> Reconciler | None:
    """A reconciler that asks MTT's Telecom API, or ``None`` when no credentials are set."""
    if not (settings.mtt_login and settings.mtt_sip_id):
        return None

    def reconcile(candidates: Sequence[Candidate]) -> dict[int, Reconciled]:
        return asyncio.run(_look_up(settings, candidates))

    return reconcile


async def _look_up(settings: Settings, candidates: Sequence[Candidate]) -> dict[int, Reconciled]:
    from dialer.providers.factory import build_telecom_client

    if not candidates:
        return {}
    client = build_telecom_client(settings)
    try:
        start = min(c.dialed_at for c in candidates) - CLOCK_SLACK
        end = max(c.dialed_at for c in candidates) + timedelta(hours=1)
        history = await client.get_call_history(settings.mtt_sip_id, start, end)
    except ProviderError as exc:
        log.warning("getCallHistory failed (%s); %d attempts stay unknown", exc, len(candidates))
        return {}
    finally:
        await client.aclose()
    return match_history(candidates, history.dialed)
