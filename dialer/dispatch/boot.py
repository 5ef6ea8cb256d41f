"""Build a process's dispatch runtime from settings (called at worker boot)."""

from __future__ import annotations

import dramatiq
from sqlalchemy.engine import Engine

from dialer.dispatch.broker import make_enqueue
from dialer.dispatch.runtime import GracefulStop, Runtime
from dialer.limits.base import RateLimiter
from dialer.settings import Settings


def build_limiter(settings: Settings) -> RateLimiter:
    """Redis GCRA when workers share a Redis (cluster-wide limits); aiolimiter in-process."""
    if settings.redis_url:
        import redis.asyncio

        from dialer.limits.redis_gcra import RedisRateLimiter

        client = redis.asyncio.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=5
        )
        return RedisRateLimiter(client)
    from dialer.limits.local import LocalRateLimiter

    return LocalRateLimiter()


def build_runtime(settings: Settings, engine: Engine, broker: dramatiq.Broker) -> Runtime:
    """The process's runtime, with a ``GracefulStop`` on ``broker`` so that stopping its
    worker releases waiting dials, lets sends finish, then closes the clients."""
    runtime = Runtime(
        settings=settings,
        engine=engine,
        limiter=build_limiter(settings),
        enqueue=make_enqueue(broker),
    )
    broker.add_middleware(GracefulStop(runtime))
    return runtime
