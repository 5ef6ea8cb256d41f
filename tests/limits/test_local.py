from __future__ import annotations

import asyncio
import math

import pytest

from dialer.limits.local import LocalRateLimiter
from dialer.limits.measure import achieved_rate, peak_in_window, record_grants

SUSTAINED = 0.7
"""The promise is the bound (at most rate + 1 in any second); the rate actually reached
depends on how busy this 2-core machine is, so it is only checked to be most of the limit."""


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, math.inf])
def test_refuses_a_rate_that_is_not_finite_and_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="requests per second"):
        asyncio.run(LocalRateLimiter().acquire("k", rate))


def test_any_second_holds_at_most_rate_plus_one_and_the_rate_is_sustained() -> None:
    limit = 20

    async def run() -> list[float]:
        return await record_grants(LocalRateLimiter(), "acct", limit, tasks=3, seconds=3.0)

    grants = asyncio.run(run())

    assert peak_in_window(grants) <= limit + 1
    assert achieved_rate(grants) >= SUSTAINED * limit


def test_a_new_rate_for_a_key_takes_effect() -> None:
    async def run() -> tuple[list[float], list[float]]:
        limiter = LocalRateLimiter()
        slow = await record_grants(limiter, "acct", 5, tasks=2, seconds=0.6)
        fast = await record_grants(limiter, "acct", 40, tasks=2, seconds=1.0)
        return slow, fast

    slow, fast = asyncio.run(run())

    assert peak_in_window(slow) <= 5 + 1
    assert achieved_rate(fast) >= SUSTAINED * 40
    assert peak_in_window(fast) <= 40 + 1


def test_keys_do_not_share_a_limit() -> None:
    async def run() -> list[list[float]]:
        limiter = LocalRateLimiter()
        return list(
            await asyncio.gather(
                record_grants(limiter, "mtt:1", 10, tasks=2, seconds=1.0),
                record_grants(limiter, "msapi:1", 10, tasks=2, seconds=1.0),
            )
        )

    for grants in asyncio.run(run()):
        assert achieved_rate(grants) >= SUSTAINED * 10
        assert peak_in_window(grants) <= 10 + 1
