"""The Dramatiq broker and the dial actors registered on it.

Messages carry only the attempt id; the database holds everything else. The actors are thin:
they hand off to ``dial_attempt``. ``build_broker`` is called by entry points, never at
import: Redis when ``DIALER_REDIS_URL`` is set, else an in-process StubBroker.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from dialer.channels import actors, channel_for
from dialer.dispatch.dial import dial_attempt
from dialer.dispatch.runtime import Enqueue, get_runtime
from dialer.settings import Settings

CALLS_QUEUE = channel_for("tts").queue
SMS_QUEUE = channel_for("sms").queue
CALLBACKS_QUEUE = channel_for("callback").queue
ACTOR_TIME_LIMIT_MS = 5 * 60 * 1000
ACTOR_MAX_RETRIES = 3
"""Retries for unexpected failures (a DB hiccup before the claim). Provider errors are
handled inside the actor; waiting for a rate token sleeps and never spends a retry."""


async def dial(attempt_id: int) -> None:
    """Every channel's actor: the attempt row says what to send."""
    await dial_attempt(get_runtime(), attempt_id)


def build_broker(settings: Settings) -> dramatiq.Broker:
    """A Redis broker (distributed) or a StubBroker (embedded), with every channel's actor
    declared (one queue per channel family, so SMS never wait behind calls)."""
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=settings.redis_url,
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=30,
            retry_on_timeout=True,
        )
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(AsyncIO())
    for name, queue in actors():
        declare = dramatiq.actor(
            actor_name=name,
            queue_name=queue,
            broker=broker,
            max_retries=ACTOR_MAX_RETRIES,
            min_backoff=1000,
            max_backoff=30_000,
            time_limit=ACTOR_TIME_LIMIT_MS,
        )
        declare(dial)
    return broker


def make_enqueue(broker: dramatiq.Broker) -> Enqueue:
    """``enqueue(attempt_id, channel, delay_ms)`` for the scheduler and the actors."""

    def enqueue(attempt_id: int, channel: str, delay_ms: int) -> None:
        actor = broker.get_actor(channel_for(channel).actor)
        actor.send_with_options(args=(attempt_id,), delay=delay_ms or None)

    return enqueue
