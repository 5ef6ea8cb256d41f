"""The collector's Starlette app: the webhook routes of the contract, ``/healthz``, ``/metrics``.

Built per call (never at import), so tests and ``dialer run`` can hold several at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dialer.collector.applier import Applier
from dialer.collector.health import health_endpoint
from dialer.collector.hooks import WebhookReceiver
from dialer.collector.metrics import CollectorMetrics, build_metrics, render_metrics
from dialer.collector.writes import WriteGate
from dialer.settings import Settings

_POST = frozenset({"POST"})
_GET_POST = frozenset({"GET", "POST"})
# Every route takes every method so the token is checked first: a wrong token is always 404,
# whatever the method; the endpoint answers 405 itself for a right token and a wrong method.
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    broker_ping: Callable[[], bool] | None = None,
    apply_inline: bool = True,
) -> Starlette:
    """The collector app.

    ``POST /hooks/{token}/mtt/call`` and ``/mtt/ivr`` take sb-api/ivr-api events in every
    documented shape; ``GET|POST /hooks/{token}/mtt/sms`` msapi events. Each accepted request
    is stored (deduplicated) and committed before the answer; see ``dialer.collector.hooks``
    for the status codes. ``broker_ping`` (blocking, returns reachability) joins ``/healthz``.
    With ``apply_inline`` new events are applied in the background, in batches, by one
    applier thread; otherwise they stay ``pending`` for the scheduler's sweep.
    """
    metrics = build_metrics(engine)
    gate = WriteGate(engine)
    applier = Applier(engine, gate.run) if apply_inline else None
    receiver = WebhookReceiver(
        engine=engine,
        metrics=metrics,
        token=settings.webhook_token.get_secret_value(),
        max_body_bytes=settings.max_body_bytes,
        gate=gate,
        applier=applier,
    )
    routes = [
        Route("/hooks/{token}/mtt/call", receiver.endpoint("call", _POST), methods=_ANY_METHOD),
        Route("/hooks/{token}/mtt/ivr", receiver.endpoint("ivr", _POST), methods=_ANY_METHOD),
        Route("/hooks/{token}/mtt/sms", receiver.endpoint("sms", _GET_POST), methods=_ANY_METHOD),
        Route("/healthz", health_endpoint(engine, broker_ping), methods=["GET"]),
        Route("/metrics", _metrics_endpoint(metrics), methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if applier is not None:
            await run_in_threadpool(applier.stop)

    return Starlette(routes=routes, lifespan=lifespan)


def _metrics_endpoint(metrics: CollectorMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def scrape(request: Request) -> Response:
        content = await run_in_threadpool(render_metrics, metrics)
        return Response(content, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return scrape
