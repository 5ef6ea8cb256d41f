"""Value types written as strings in campaign files: durations and calling windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Literal

_DURATION_PART = re.compile(r"(\d+)\s*(d|h|m|s)")
_DURATION = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(value: str | int) -> timedelta:
    """``"2s"``, ``"10m"``, ``"2h"``, ``"1d"`` or combinations like ``"1h30m"``; a bare
    integer means seconds. Raises ``ValueError`` with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '10m'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration; use forms like '30s', '10m', '2h', '1d'")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class Window:
    """A daily calling window in local time, ``start`` inclusive, ``end`` exclusive.

    ``end <= start`` means the window crosses midnight (``21:00-02:00``); ``00:00-24:00``
    (stored with ``end`` = 00:00) is the whole day.
    """

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        match = _WINDOW.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a window; use 'HH:MM-HH:MM', e.g. '09:00-21:00'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError(f"{text!r} has an impossible time of day")
        start, end = time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)
        if start == end and h2 != 24:
            raise ValueError(f"{text!r} is empty: start and end are the same")
        return cls(start, end)

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def contains(self, moment: time) -> bool:
        """Whether a local wall-clock time lies inside the window."""
        if self.crosses_midnight:
            return moment >= self.start or moment < self.end
        return self.start <= moment < self.end

    def __str__(self) -> str:
        end = (
            "24:00" if self.end == time(0, 0) and self.start == time(0, 0) else f"{self.end:%H:%M}"
        )
        return f"{self.start:%H:%M}-{end}"
