"""The collector's Starlette apps: the public one with the webhook routes of the contract,
and the internal one with ``/healthz`` and ``/metrics`` (served on another listener, never on
the port the internet reaches: ``/metrics`` reads the database).

Built per call (never at import), so tests and ``dialer run`` can hold several at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dialer.channels import hooks
from dialer.collector.applier import Applier
from dialer.collector.body import BodyReadSlots
from dialer.collector.connect import mtt_business_redirect
from dialer.collector.health import health_endpoint
from dialer.collector.hooks import WebhookReceiver
from dialer.collector.metrics import CollectorMetrics, build_metrics, render_metrics
from dialer.collector.parsing import parsers_for, redactors
from dialer.collector.writes import WriteGate
from dialer.settings import Settings

# Every route takes every method so the token is checked first: a wrong token is always 404,
# whatever the method; the endpoint answers 405 itself for a right token and a wrong method.
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True, slots=True)
class CollectorApps:
    """``public``: the webhook routes (anything else is 404); ``internal``: ``/healthz`` and
    ``/metrics``, sharing the public app's counters."""

    public: Starlette
    internal: Starlette


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    broker_ping: Callable[[], bool] | None = None,
    apply_inline: bool = True,
) -> Starlette:
    """The public collector app alone (``create_apps(...).public``)."""
    return create_apps(settings, engine, broker_ping=broker_ping, apply_inline=apply_inline).public


def create_apps(
    settings: Settings,
    engine: Engine,
    *,
    broker_ping: Callable[[], bool] | None = None,
    apply_inline: bool = True,
) -> CollectorApps:
    """The collector's two apps.

    Public: the channels' webhook routes (``dialer.channels.hooks``): ``POST
    /hooks/{token}/mtt/call`` and ``/mtt/ivr`` take sb-api/ivr-api events in every documented
    shape; ``GET|POST /hooks/{token}/mtt/sms`` msapi events; ``GET|POST
    /hooks/{token}/mtt/callback[/{attempt}]/event.php`` CallBack events. Each accepted
    request is stored (deduplicated) and committed before the answer; see
    ``dialer.collector.hooks`` for the status codes. With ``apply_inline`` new events are
    applied in the background, in batches, by one applier thread, which the app's shutdown
    drains; otherwise they stay ``pending`` for the scheduler's sweep.

    Internal: ``/healthz`` (``broker_ping``, blocking and returning reachability, joins it)
    and ``/metrics``.
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
        body_slots=BodyReadSlots(settings.max_body_reads),
        body_timeout=settings.body_timeout_seconds,
        applier=applier,
        parsers=parsers_for(settings),
        redact=redactors(),
    )
    routes = [
        # Before the webhook route of the same path: a GET there is the OAuth redirect.
        Route(
            "/hooks/{token}/mtt-business",
            mtt_business_redirect(settings, engine),
            methods=["GET"],
        ),
        *(
            Route(
                f"/hooks/{{token}}/{hook.path}",
                receiver.endpoint(hook.route, hook.methods),
                methods=_ANY_METHOD,
            )
            for hook in hooks()
        ),
    ]
    internal = [
        Route("/healthz", health_endpoint(engine, broker_ping), methods=["GET"]),
        Route("/metrics", _metrics_endpoint(metrics), methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if applier is not None:
            await run_in_threadpool(applier.stop)

    return CollectorApps(
        public=Starlette(routes=routes, lifespan=lifespan), internal=Starlette(routes=internal)
    )


def _metrics_endpoint(metrics: CollectorMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def scrape(request: Request) -> Response:
        content = await run_in_threadpool(render_metrics, metrics)
        return Response(content, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return scrape
