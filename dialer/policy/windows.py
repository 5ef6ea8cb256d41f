"""Calling windows in a contact's local time.

A window like ``09:00-21:00`` on given weekdays is open in a zone when the local wall-clock
time lies inside it. A window that crosses midnight (``21:00-02:00``) belongs to the day it
starts on. In strict mode a number that maps to several zones is called only while the window
is open in all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dialer.campaign.values import WEEKDAYS, Window

_HORIZON_DAYS = 9
Interval = tuple[datetime, datetime]


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_intervals(
    window: Window, days: Iterable[str], zone: str, after: datetime
) -> list[Interval]:
    """Open intervals (UTC) in ``zone`` from the day before ``after`` over the horizon."""
    tz = _zone(zone)
    allowed = {WEEKDAYS.index(day) for day in days}
    first: date = after.astimezone(tz).date() - timedelta(days=1)
    intervals: list[Interval] = []
    for offset in range(_HORIZON_DAYS):
        day = first + timedelta(days=offset)
        if day.weekday() not in allowed:
            continue
        start = datetime.combine(day, window.start, tzinfo=tz)
        end_day = day + timedelta(days=1) if window.crosses_midnight else day
        end = datetime.combine(end_day, window.end, tzinfo=tz)
        intervals.append((start.astimezone(UTC), end.astimezone(UTC)))
    return _merge(intervals)


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def next_open(
    window: Window,
    days: Sequence[str],
    zones: Sequence[str],
    after: datetime,
    *,
    strict: bool = False,
) -> datetime | None:
    """The earliest moment at or after ``after`` when the window is open.

    ``zones`` are the contact's IANA zones, the resolved one first; only the first counts
    unless ``strict``, when the window must be open in all of them. Returns ``None`` when no
    such moment exists within a week (strict zones whose windows never overlap).
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    considered = list(dict.fromkeys(zones if strict else zones[:1]))
    if not considered:
        raise ValueError("at least one zone is needed")
    open_intervals = _local_intervals(window, days, considered[0], after)
    for zone in considered[1:]:
        open_intervals = _intersect(open_intervals, _local_intervals(window, days, zone, after))
    after_utc = after.astimezone(UTC)
    for start, end in open_intervals:
        if end > after_utc:
            return max(start, after_utc)
    return None


def is_open(
    window: Window,
    days: Sequence[str],
    zones: Sequence[str],
    now: datetime,
    *,
    strict: bool = False,
) -> bool:
    """Whether the window is open at ``now`` for a contact in ``zones``."""
    moment = next_open(window, days, zones, now, strict=strict)
    return moment is not None and moment <= now.astimezone(UTC)


def zones_of(timezone: str, timezones: str) -> list[str]:
    """A contact's zones: ``timezone`` (the resolved one) first, then the other zones of the
    space-separated ``timezones`` its number may be in."""
    return [timezone, *(zone for zone in timezones.split() if zone != timezone)]
