"""Cluster-wide rate limits: GCRA in one atomic Lua script on Redis, timed by Redis ``TIME``.

Every process and host that calls the same provider account shares one Redis key, so the
limit holds however many workers run. Redis's clock is the only clock: worker clocks may
disagree with each other by more than an emission interval.

GCRA parameters for ``rate`` r requests per second (see ``gcra_parameters``):

- emission interval ``T = 1 / r``;
- tolerance ``tau = (floor(r) + 1 - r) / 2 * T``, i.e. ``T / 2`` for a whole-number rate.

Bounds: n + 1 grants need ``n * T - tau`` seconds, so a 1-second window holds at most
``floor(r + r * tau) + 1`` grants, and ``r * tau`` is half the gap to the next whole number,
so that is ``floor(r) + 1 <= r + 1``. The other half of the gap absorbs up to ``tau`` of
skew between when Redis granted and when the caller observes it. Under steady demand a waiter
may be up to ``tau`` late without the limiter losing time (the next slot is still counted
from the previous slot, not from the late grant), so the sustained rate stays at ``r`` as
long as wake-up plus round trip stays below ``tau`` (2.5 ms at 200 requests per second).
"""

from __future__ import annotations

import asyncio
import math
import random

from redis.asyncio import Redis

from dialer.limits.base import RateLimiter, check_rate
from dialer.limits.constants import RATE_KEY_PREFIX

MAX_JITTER_SECONDS = 0.001
"""Most random delay (seconds) added to a wait, so waiters that were told the same wait do
not all reach Redis at once. Never more than a tenth of the emission interval."""

# KEYS[1]: the rate key; its value is the theoretical arrival time (TAT) in microseconds of
# Redis TIME. ARGV[1]: emission interval, ARGV[2]: tolerance, both in whole microseconds.
# Returns 0 when the request may go (the new TAT is stored and expires once it has passed),
# otherwise the milliseconds (rounded up) until it may.
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local allowed_at = tat - tolerance
if now < allowed_at then
  return math.ceil((allowed_at - now) / 1000)
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat))
redis.call('PEXPIRE', KEYS[1], math.ceil((new_tat - now) / 1000) + 1)
return 0
"""


def gcra_parameters(rate: float) -> tuple[int, int]:
    """Return ``(emission interval, tolerance)`` in whole microseconds for ``rate`` per second.

    The interval is rounded up and the tolerance down, so rounding never lets a request
    through early. Raises ``ValueError`` for a rate that is not finite and above zero.
    """
    check_rate(rate)
    headroom = math.floor(rate) + 1 - rate  # in (0, 1]: room below the next whole count
    interval_us = math.ceil(1_000_000 / rate)
    tolerance_us = math.floor(headroom / 2 * 1_000_000 / rate)
    return interval_us, tolerance_us


class RedisRateLimiter(RateLimiter):
    """A limit shared by every process using the same Redis, keyed ``dialer:rate:<key>``.

    The limiter owns ``client``: ``aclose`` closes it. ``acquire`` makes one Redis round trip
    per try and raises ``redis.exceptions.ConnectionError`` / ``TimeoutError`` when Redis
    cannot be reached; the caller decides whether to retry. If the key disappears (FLUSHALL,
    eviction) the limit restarts from an empty key, which may let one extra request through;
    if the script disappears (``SCRIPT FLUSH``, a restart) redis-py loads it again.
    """

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._gcra = client.register_script(GCRA_SCRIPT)

    async def acquire(self, key: str, rate: float) -> None:
        interval_us, tolerance_us = gcra_parameters(rate)
        max_jitter = min(MAX_JITTER_SECONDS, interval_us / 10_000_000)
        redis_key = RATE_KEY_PREFIX + key
        while True:
            wait_ms = int(await self._gcra(keys=[redis_key], args=[interval_us, tolerance_us]))
            if wait_ms <= 0:
                return
            await asyncio.sleep(wait_ms / 1000 + random.uniform(0, max_jitter))

    async def aclose(self) -> None:
        await self._client.aclose()
