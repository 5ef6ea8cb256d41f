"""Cluster-wide rate limits: GCRA with slot reservation, in one atomic Lua script on Redis,
timed by Redis ``TIME``.

Every process and host that calls the same provider account shares one Redis key, so the
limit holds however many workers run. Redis's clock is the only clock: worker clocks may
disagree with each other by more than an emission interval.

The key holds the next free slot (the theoretical arrival time, TAT). A caller whose slot is
near (within ``horizon`` = two emission intervals) reserves it: the script moves the TAT one
interval on and tells the caller how long to sleep until its slot; the caller then sends
without asking again. A caller further back is told when to ask again. So:

- reserved slots are exactly ``T = 1 / r`` apart, and any 1-second window holds at most
  ``floor(r) + 1 <= r + 1`` of them;
- what the provider sees is the slots plus each caller's delay between waking and its
  request reaching the provider; the bound still holds while that delay varies by less than
  ``T`` (125 ms at 8 rps, 5 ms at 200 rps). A plain grant-or-retry GCRA needs its tolerance
  for the sustained rate and leaves only ``T/2`` of this margin, which a busy 2-core worker
  (event loop, GIL, database calls) overshoots;
- while work waits, a slot is always reserved ahead, so the sustained rate is ``r`` and late
  wake-ups do not lose time.

If the key disappears (FLUSHALL, eviction) callers may still hold slots reserved up to
``now + horizon``, and the script cannot know where. So a lost (or brand-new) schedule starts
at ``now + horizon``, after every slot that can still be reserved: the new slots are ``T``
apart and start after the old ones end, so any 1-second window still holds at most
``floor(r) + 1`` of them through a wipe. The price is one wait of ``horizon`` (two intervals)
for the first request after a wipe or on a new key.
"""

from __future__ import annotations

import asyncio
import math
import random

from redis.asyncio import Redis

from dialer.limits.base import RateLimiter, check_rate
from dialer.limits.constants import RATE_KEY_PREFIX

MAX_JITTER_SECONDS = 0.001
"""Most random delay (seconds) added before asking again, so waiters told the same wait do
not all reach Redis at once. Never more than a tenth of the emission interval."""

HORIZON_INTERVALS = 2
"""How many emission intervals ahead a slot may be reserved."""

# KEYS[1]: the rate key; its value is the TAT in microseconds of Redis TIME.
# ARGV[1]: emission interval, ARGV[2]: reservation horizon, both in whole microseconds.
# Returns >= 0: a slot is reserved, sleep that many microseconds and send.
# Returns < 0: nothing reserved; ask again in -result microseconds.
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or (now + horizon)
if tat < now then
  tat = now
end
if tat - now > horizon then
  return -(tat - now - horizon) - 1
end
local new_tat = tat + interval
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return tat - now
"""


def gcra_parameters(rate: float) -> tuple[int, int]:
    """Return ``(emission interval, reservation horizon)`` in whole microseconds for ``rate``
    per second. The interval is rounded up, so rounding never lets a request through early.
    Raises ``ValueError`` for a rate that is not finite and above zero."""
    check_rate(rate)
    interval_us = math.ceil(1_000_000 / rate)
    return interval_us, HORIZON_INTERVALS * interval_us


class RedisRateLimiter(RateLimiter):
    """A limit shared by every process using the same Redis, keyed ``dialer:rate:<key>``.

    The limiter owns ``client``: ``aclose`` closes it. ``acquire`` makes one Redis round trip
    per try and raises ``redis.exceptions.ConnectionError`` / ``TimeoutError`` when Redis
    cannot be reached; the caller decides whether to retry. If the key disappears (FLUSHALL,
    eviction) the schedule restarts ``horizon`` from now, after any slot still reserved (see the
    module docstring); if the script
    disappears (``SCRIPT FLUSH``, a restart) redis-py loads it again.
    """

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._gcra = client.register_script(GCRA_SCRIPT)

    async def acquire(self, key: str, rate: float) -> None:
        interval_us, horizon_us = gcra_parameters(rate)
        max_jitter = min(MAX_JITTER_SECONDS, interval_us / 10_000_000)
        redis_key = RATE_KEY_PREFIX + key
        while True:
            answer = int(await self._gcra(keys=[redis_key], args=[interval_us, horizon_us]))
            if answer >= 0:
                if answer:
                    await asyncio.sleep(answer / 1_000_000)
                return
            await asyncio.sleep(-answer / 1_000_000 + random.uniform(0, max_jitter))

    async def aclose(self) -> None:
        await self._client.aclose()
