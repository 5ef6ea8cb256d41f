"""In-process rate limits for the embedded single-process mode (aiolimiter leaky buckets)."""

from __future__ import annotations

from aiolimiter import AsyncLimiter

from dialer.limits.base import RateLimiter, check_rate


class LocalRateLimiter(RateLimiter):
    """One leaky bucket of capacity 1 per key, leaking ``rate`` requests per second.

    Capacity 1 means a request waits until the previous one has fully leaked out
    (``1 / rate`` seconds), so any 1-second window holds at most ``rate + 1`` grants. Only the
    tasks of one event loop in one process share the limit; use ``RedisRateLimiter`` when
    several processes call the same provider account. When the rate of a key changes, the key
    gets a fresh bucket, so the first request at the new rate may go at once.
    """

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, AsyncLimiter]] = {}

    async def acquire(self, key: str, rate: float) -> None:
        check_rate(rate)
        entry = self._buckets.get(key)
        if entry is None or entry[0] != rate:
            entry = (rate, AsyncLimiter(1, 1 / rate))
            self._buckets[key] = entry
        await entry[1].acquire()
