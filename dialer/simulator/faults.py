"""Request-level faults and the rate limit, applied around every API endpoint.

For each sb-api, msapi or JSON-RPC request, in order:

1. ``rps_limit``: more than that many requests accepted by the same API in the last second
   (real time) → 429, not processed (``rate_limited_total``);
2. ``error_429_rate`` → 429, not processed (``injected_429_total``);
3. the request now counts as accepted (``peak_rps``); ``latency_ms`` delays it;
4. ``error_5xx_rate`` → 500/502/503/504 with an nginx-style page, not processed;
5. the endpoint runs (calls are placed, events scheduled, stats recorded);
6. ``lost_response_rate`` → the answer is held for ``lost_response_hold_s`` real seconds, so
   the client's read timeout fires although the request took effect.

429 answers carry no ``Retry-After``: the docs do not promise one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from dialer.simulator.httputil import simulator_of
from dialer.simulator.state import Simulator

Endpoint = Callable[[Request], Awaitable[Response]]

HOLD_POLL_SECONDS = 0.05
"""How often a held answer checks for shutdown, seconds."""

_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def gated(api: str, endpoint: Endpoint) -> Endpoint:
    """``endpoint`` behind the rate limit and the request faults of ``api``."""

    async def guarded(request: Request) -> Response:
        sim = simulator_of(request)
        refusal = await admit(sim, api)
        if refusal is not None:
            return refusal
        response = await endpoint(request)
        await hold_if_lost(sim)
        return response

    return guarded


async def admit(sim: Simulator, api: str) -> Response | None:
    """``None`` to let the request through, else the fault answer to send instead."""
    stats, faults, rng = sim.stats, sim.faults, sim.fault_rng
    stats.requests_total += 1
    stats.requests_by_api[api] += 1
    now = time.monotonic()
    limit = sim.config.rps_limit
    if limit is not None and stats.window(api).count(now) >= limit:
        stats.rate_limited_total += 1
        return error_page(429)
    if rng.random() < faults.error_429_rate:
        stats.injected_429_total += 1
        return error_page(429)
    stats.record_accepted_request(api, now)
    low, high = faults.latency_ms
    if high > 0:
        await asyncio.sleep(rng.uniform(low, high) / 1000)
    if rng.random() < faults.error_5xx_rate:
        stats.injected_5xx_total += 1
        return error_page(rng.choice((500, 502, 503, 504)))
    return None


async def hold_if_lost(sim: Simulator) -> None:
    """Hold the answer back with ``lost_response_rate``; released early when the simulator
    shuts down, so a server stop is not delayed by held answers."""
    if sim.fault_rng.random() >= sim.faults.lost_response_rate:
        return
    sim.stats.lost_responses_total += 1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + sim.faults.lost_response_hold_s
    while not sim.closing.is_set() and (remaining := deadline - loop.time()) > 0:
        await asyncio.sleep(min(remaining, HOLD_POLL_SECONDS))


def error_page(status_code: int) -> Response:
    """The HTML page a front proxy answers with."""
    title = f"{status_code} {_REASONS[status_code]}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(page, status_code=status_code, media_type="text/html")
