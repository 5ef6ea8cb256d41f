"""Utilisation of the Redis rate limiter: two processes share one key at 5, 50 and 200 rps.

Run from the repository root with Redis up::

    python bench/rate.py [--seconds 10] [--redis-url redis://127.0.0.1:6379/15]

Each process has its own event loop, Redis client and 4 tasks acquiring on the key. Every
rate runs 3 times; the medians of the achieved rate (requests per second, first grant to
last), utilisation (achieved / limit) and peak (most grants in any 1-second window; the
limiter promises at most limit + 1) are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
import uuid
from multiprocessing.synchronize import Barrier

import redis
import redis.asyncio

from dialer.limits.constants import RATE_KEY_PREFIX
from dialer.limits.measure import achieved_rate, peak_in_window, record_grants
from dialer.limits.redis_gcra import RedisRateLimiter

RATES = (5, 50, 200)
PROCESSES = 2
TASKS_PER_PROCESS = 4
REPEATS = 3


def grant_times_in_process(
    url: str,
    key: str,
    rate: float,
    seconds: float,
    start: Barrier,
    results: multiprocessing.Queue[list[float]],
) -> None:
    """One worker process; reports its grant times (``time.time()``, seconds)."""

    async def run() -> list[float]:
        limiter = RedisRateLimiter(redis.asyncio.Redis.from_url(url))
        try:
            return await record_grants(
                limiter, key, rate, tasks=TASKS_PER_PROCESS, seconds=seconds, clock=time.time
            )
        finally:
            await limiter.aclose()

    start.wait(timeout=60)
    results.put(asyncio.run(run()))


def run_once(url: str, rate: float, seconds: float) -> list[float]:
    """Grant times of all processes sharing a fresh key at ``rate`` for ``seconds``."""
    key = f"bench:{uuid.uuid4().hex}"
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[list[float]] = context.Queue()
    start = context.Barrier(PROCESSES)
    workers = [
        context.Process(
            target=grant_times_in_process, args=(url, key, rate, seconds, start, results)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    grants = [t for _ in workers for t in results.get(timeout=seconds + 60)]
    for worker in workers:
        worker.join()
    with redis.Redis.from_url(url) as client:
        client.delete(RATE_KEY_PREFIX + key)
    return grants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    with redis.Redis.from_url(args.redis_url, socket_connect_timeout=2) as client:
        client.ping()

    print(
        f"{PROCESSES} processes x {TASKS_PER_PROCESS} tasks, {args.seconds:g} s per run, ", end=""
    )
    print(f"median of {REPEATS} runs")
    print(f"{'limit':>6} {'achieved':>9} {'util':>6} {'peak/1s':>8} {'limit+1':>8}  util per run")
    for rate in RATES:
        runs = [run_once(args.redis_url, rate, args.seconds) for _ in range(REPEATS)]
        achieved = [achieved_rate(grants) for grants in runs]
        utilisation = [a / rate for a in achieved]
        peak = statistics.median(peak_in_window(grants) for grants in runs)
        print(
            f"{rate:>6} {statistics.median(achieved):>9.2f} "
            f"{statistics.median(utilisation):>6.3f} {peak:>8g} {rate + 1:>8}  "
            + " ".join(f"{u:.3f}" for u in utilisation)
        )


if __name__ == "__main__":
    main()
