"""The cluster-wide limit holds through a Redis FLUSHALL (issue 10.9).

A private ``redis-server`` (the shared one must never be flushed): concurrent acquirers keep
the limiter saturated while the whole server is flushed several times.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio

from dialer.limits.measure import achieved_rate, peak_in_window, record_grants
from dialer.limits.redis_gcra import RedisRateLimiter
from tests.support.private_services import private_redis

LIMIT = 25
FLUSH_AT = (0.9, 1.65, 2.5)
"""Seconds into the run at which the server is flushed (not in step with the schedule)."""


async def grants_through_flushes(url: str, seconds: float) -> list[float]:
    limiter = RedisRateLimiter(redis.asyncio.Redis.from_url(url))
    admin = redis.asyncio.Redis.from_url(url)
    try:
        recording = asyncio.create_task(
            record_grants(limiter, "flush-test", LIMIT, tasks=8, seconds=seconds)
        )
        waited = 0.0
        for moment in FLUSH_AT:
            await asyncio.sleep(moment - waited)
            waited = moment
            await admin.flushall()
        return await recording
    finally:
        await admin.aclose()
        await limiter.aclose()


@pytest.mark.integration
def test_no_second_holds_more_than_limit_plus_one_through_flushall(tmp_path: Path) -> None:
    with private_redis(tmp_path) as url:
        grants = asyncio.run(grants_through_flushes(url, seconds=3.5))

    assert peak_in_window(grants) <= LIMIT + 1
    assert achieved_rate(grants) >= 0.8 * LIMIT  # a bound: the flushes cost a little time
