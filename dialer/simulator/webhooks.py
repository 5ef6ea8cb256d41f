"""Delivery of events to the account's webhooks, with the configured delivery faults.

An event is dropped (never sent) with ``drop_rate``. Otherwise it is sent; a 5xx or 429
answer, a timeout or a refused connection is retried up to ``webhook_max_tries`` times with
doubling delays (``webhook_retry_initial_s`` up to ``webhook_retry_max_s``, simulated
seconds); any other 4xx is final. A delivered event is sent once more with ``duplicate_rate``.
Faults are read at delivery time, so ``POST /_sim/faults`` affects events already scheduled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Literal
from urllib.parse import urlsplit

import httpx

from dialer.simulator.state import Simulator

log = logging.getLogger(__name__)

DUPLICATE_DELAY_SECONDS = (0.0, 0.5)
"""Gap between an event and its duplicate, simulated seconds."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One HTTP request to a webhook."""

    method: Literal["GET", "POST"]
    url: str
    content: bytes = b""
    content_type: str | None = None


class _Result(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


async def deliver(sim: Simulator, delivery: Delivery) -> bool:
    """Send one event under the current faults; ``True`` if the receiver took it (2xx/3xx)."""
    stats = sim.stats
    if sim.fault_rng.random() < sim.faults.drop_rate:
        stats.webhooks_dropped += 1
        return False
    delivered = await _send_with_retries(sim, delivery)
    if delivered:
        stats.webhooks_sent += 1
    else:
        stats.webhooks_failed += 1
    if delivered and sim.fault_rng.random() < sim.faults.duplicate_rate:
        await asyncio.sleep(sim.scaled(sim.fault_rng.uniform(*DUPLICATE_DELAY_SECONDS)))
        if await _send_with_retries(sim, delivery):
            stats.webhooks_duplicated += 1
    return delivered


async def _send_with_retries(sim: Simulator, delivery: Delivery) -> bool:
    tries = sim.faults.webhook_max_tries
    delay = sim.faults.webhook_retry_initial_s
    for attempt in range(1, tries + 1):
        sim.stats.webhook_attempts += 1
        result = await _attempt(sim, delivery)
        if result is not _Result.RETRY:
            return result is _Result.DELIVERED
        if attempt < tries:
            sim.stats.webhook_retries += 1
            await asyncio.sleep(sim.scaled(delay))
            delay = min(delay * 2, sim.faults.webhook_retry_max_s)
    return False


async def _attempt(sim: Simulator, delivery: Delivery) -> _Result:
    headers = {"content-type": delivery.content_type} if delivery.content_type else {}
    try:
        # Waiting for a slot or a pooled connection is our queue, not the receiver's fault.
        async with sim.webhook_slots():
            response = await sim.http().request(
                delivery.method,
                delivery.url,
                content=delivery.content or None,
                headers=headers,
                timeout=httpx.Timeout(sim.faults.webhook_timeout_s, pool=None),
            )
    except httpx.HTTPError as error:
        log.debug("webhook to %s failed: %r", _host(delivery.url), error)
        return _Result.RETRY
    status = response.status_code
    if status >= 500 or status == 429:
        return _Result.RETRY
    if status >= 400:
        log.debug("webhook to %s rejected with %d", _host(delivery.url), status)
        return _Result.REJECTED
    return _Result.DELIVERED


def _host(url: str) -> str:
    """Only the host in logs: webhook paths carry the collector's secret token."""
    return urlsplit(url).netloc
