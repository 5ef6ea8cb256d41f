"""Measure a limiter: record when it grants, then the busiest window and the achieved rate.

Timestamps are seconds on one clock; shared by the tests and ``bench/rate.py``.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Iterable

from dialer.limits.base import RateLimiter


async def record_grants(
    limiter: RateLimiter,
    key: str,
    rate: float,
    *,
    tasks: int,
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> list[float]:
    """Keep ``tasks`` concurrent tasks acquiring under ``key`` for ``seconds``.

    Returns the ``clock`` reading (seconds) at every grant, including the last grant of each
    task, which may land after the deadline.
    """
    deadline = clock() + seconds
    grants: list[float] = []

    async def keep_acquiring() -> None:
        while clock() < deadline:
            await limiter.acquire(key, rate)
            grants.append(clock())

    async with asyncio.TaskGroup() as group:
        for _ in range(tasks):
            group.create_task(keep_acquiring())
    return grants


def peak_in_window(timestamps: Iterable[float], window: float = 1.0) -> int:
    """Most timestamps inside any closed window ``[t, t + window]`` (``window`` in seconds)."""
    ordered = sorted(timestamps)
    return max(
        (bisect.bisect_right(ordered, start + window) - i for i, start in enumerate(ordered)),
        default=0,
    )


def achieved_rate(timestamps: Iterable[float]) -> float:
    """Grants per second from the first grant to the last: ``(n - 1) / (last - first)``.

    Returns 0.0 for fewer than two grants or grants that all share one instant.
    """
    ordered = sorted(timestamps)
    if len(ordered) < 2 or ordered[-1] == ordered[0]:
        return 0.0
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])
