"""Pure estimates for ``dialer status``: the current rate, the ETA and why contacts wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

RATE_WINDOW = timedelta(minutes=1)
"""The current rate is measured over the last minute (or since the start, if shorter)."""


@dataclass(frozen=True)
class WaitGroup:
    """Contacts in one waiting status for one stored reason; ``due`` ones may be dialled now."""

    status: str
    reason: str | None
    due: bool
    count: int
    next_at: datetime | None


@dataclass(frozen=True)
class Estimate:
    at: datetime | None
    basis: str


def current_rate(dialled_recently: int, started_at: datetime | None, now: datetime) -> float:
    """Attempts per second over ``RATE_WINDOW``, or over the time since the start if shorter
    (so a campaign one second old does not look sixty times slower than it is)."""
    span = RATE_WINDOW
    if started_at is not None:
        span = min(span, max(now - started_at, timedelta(seconds=1)))
    return dialled_recently / span.total_seconds()


def estimate_finish(
    *,
    state: str,
    finished_at: datetime | None,
    to_dial: int,
    in_progress: int,
    rate: float,
    last_scheduled: datetime | None,
    now: datetime,
) -> Estimate:
    """When the campaign should end if no contact needs another retry: the contacts still to
    dial at the current rate, but not before the latest scheduled retry or window opening."""
    if state in ("completed", "cancelled"):
        return Estimate(finished_at, state)
    if state != "running":
        return Estimate(None, f"campaign {state}")
    if to_dial == 0:
        if in_progress:
            return Estimate(now, f"{in_progress} call(s) awaiting their final event")
        return Estimate(now, "nothing left to dial")
    if rate <= 0:
        if last_scheduled is not None and last_scheduled > now:
            return Estimate(
                None, f"nothing dialled in the last minute; next due {_hm(last_scheduled)}"
            )
        return Estimate(None, "nothing dialled in the last minute")
    at = now + timedelta(seconds=to_dial / rate)
    basis = f"{to_dial} contact(s) to dial at {rate:.1f}/s"
    if last_scheduled is not None and last_scheduled > at:
        at = last_scheduled
        basis += f"; the last is scheduled for {_hm(last_scheduled)}"
    return Estimate(at, basis + "; more if retries are needed")


@dataclass(frozen=True, slots=True)
class Waiting:
    """``count`` contacts wait for ``reason``; the first of them is due at ``next_at``
    (``None``: due now, waiting on the campaign, a slot, the rate or a scheduler)."""

    reason: str
    count: int
    next_at: datetime | None


def explain_waiting(
    groups: list[WaitGroup],
    *,
    state: str,
    state_reason: str | None,
    live: int,
    max_concurrent: int | None,
    rps: float,
    scheduler_silent: timedelta | None = None,
    slots: str = "call slots",
) -> list[Waiting]:
    """One line per reason contacts are waiting, most contacts first. Contacts due now wait
    for the campaign (not running), for a scheduler (none has written its heartbeat for
    ``scheduler_silent``; ``timedelta.max`` when none ever has), for one of the
    ``max_concurrent`` ``slots`` (call slots, or a callback campaign's agents), or for their
    turn under the rate limit; the others for the time stored with them (a retry delay or the
    calling window)."""
    counts: dict[str, int] = {}
    next_at: dict[str, datetime | None] = {}
    for group in groups:
        if group.due:
            reason = _why_due_waits(
                state, state_reason, live, max_concurrent, rps, scheduler_silent, slots
            )
        elif group.reason:
            reason = group.reason
        else:
            reason = "retry scheduled" if group.status == "retry_wait" else "scheduled"
        counts[reason] = counts.get(reason, 0) + group.count
        later = None if group.due else group.next_at
        moments = [m for m in (next_at.get(reason), later) if m is not None]
        next_at[reason] = min(moments) if moments else None
    return [
        Waiting(reason, count, next_at[reason])
        for reason, count in sorted(counts.items(), key=lambda item: -item[1])
    ]


def _why_due_waits(
    state: str,
    state_reason: str | None,
    live: int,
    max_concurrent: int | None,
    rps: float,
    scheduler_silent: timedelta | None,
    slots: str,
) -> str:
    if state != "running":
        return f"campaign {state}" + (f": {state_reason}" if state_reason else "")
    if scheduler_silent is not None:
        return scheduler_missing(scheduler_silent)
    if max_concurrent is not None and live >= max_concurrent:
        return f"all {max_concurrent} {slots} busy"
    return f"in line for the rate limit ({rps:g}/s)"


def scheduler_missing(silent: timedelta) -> str:
    """The waiting reason when no scheduler has written its heartbeat for ``silent``."""
    hint = "start `dialer scheduler`, or `dialer run` again"
    if silent == timedelta.max:
        return f"no scheduler seen ({hint})"
    return f"no scheduler seen for {int(silent.total_seconds())} s ({hint})"


def scheduler_silence(
    seen_at: datetime | None, now: datetime, stale_after: timedelta
) -> timedelta | None:
    """How long no scheduler has been seen, or ``None`` while the last heartbeat is fresh."""
    if seen_at is None:
        return timedelta.max
    silent = now - seen_at
    return silent if silent > stale_after else None


def _hm(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
