"""The webhook endpoints: check the token, read the body within the limit, store, answer.

Order of checks: wrong token -> 404 (nothing read, nothing stored); method -> 405; body over
the limit -> 413; body too slow -> 408, or 503 when every slow-body slot is taken (nothing
stored, see ``dialer.collector.body``); then the request is stored (events, or raw text when
unparseable) and committed before any 2xx/400. Storage failure -> 503 so MTT delivers again.

A 400 answers a fixed text: what the parser or the database driver said stays in the stored
row's ``error`` and in the log, never in the answer to an outside sender.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from dialer.collector.applier import Applier
from dialer.collector.body import BodyReader, BodyTimeoutError, TooManySlowBodiesError
from dialer.collector.intake import Intake, take_in
from dialer.collector.metrics import CollectorMetrics
from dialer.collector.parsing import HookRoute
from dialer.collector.raw import raw_request_text
from dialer.collector.tokens import token_matches
from dialer.collector.writes import WriteGate

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]

INVALID_ANSWER = "invalid event: kept for inspection"
"""The 400 answer's ``error``, whatever the reason (which stays in the row and the log)."""


@dataclass(frozen=True, slots=True)
class WebhookReceiver:
    """Everything the webhook endpoints share. ``token`` is the configured secret (empty:
    every request is refused); ``max_body_bytes`` the body limit in bytes; ``body_reader``
    enforces the read timeout and the slow-body cap; with
    an ``applier`` the new events are applied in the background after the answer (without
    one they wait for the scheduler's sweep); ``gate`` queues the database writes (SQLite)."""

    engine: Engine
    metrics: CollectorMetrics
    token: str
    max_body_bytes: int
    gate: WriteGate
    body_reader: BodyReader
    applier: Applier | None = None

    def endpoint(self, route: HookRoute, methods: frozenset[str]) -> Endpoint:
        """The Starlette endpoint for one webhook route accepting ``methods``."""

        async def receive(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await self._receive(request, route, methods)
            except Exception:
                # A bug of ours, not the sender's: 503 (not 500) so MTT delivers it again.
                log.exception("%s webhook failed", route)
                response = _error(503, "internal error")
            self.metrics.requests.labels(route, str(response.status_code)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
            return response

        return receive

    async def _receive(
        self, request: Request, route: HookRoute, methods: frozenset[str]
    ) -> Response:
        if not token_matches(str(request.path_params.get("token", "")), self.token):
            return PlainTextResponse("Not Found", status_code=404)
        if request.method not in methods:
            allow = ", ".join(sorted(methods))
            return PlainTextResponse(
                "Method Not Allowed", status_code=405, headers={"Allow": allow}
            )
        try:
            body = await self.body_reader.read(request, self.max_body_bytes)
        except ClientDisconnect:
            return _error(400, "client disconnected")
        except BodyTimeoutError:
            log.info("%s webhook body not received in time", route)
            return _error(408, "body read timed out")
        except TooManySlowBodiesError:
            log.warning("%s webhook refused: too many slow bodies in progress", route)
            return _error(503, "busy, try again")
        if body is None:
            return _error(413, "body too large")
        content_type = request.headers.get("content-type")
        query_bytes: bytes = request.scope.get("query_string", b"")
        now = datetime.now(UTC)
        try:
            intake = await run_in_threadpool(
                take_in,
                self.engine,
                self.gate,
                route=route,
                body=body,
                content_type=content_type,
                query=dict(request.query_params),
                raw=raw_request_text(request.method, content_type, query_bytes, body),
                now=now,
            )
        except SQLAlchemyError as exc:
            log.warning("%s webhook not stored: %s", route, type(exc).__name__, exc_info=True)
            return _error(503, "storage unavailable")
        except Exception:
            log.exception("%s webhook not stored", route)
            return _error(503, "storage unavailable")
        return self._answer(route, intake, now)

    def _answer(self, route: HookRoute, intake: Intake, now: datetime) -> Response:
        if intake.invalid is not None:
            self.metrics.invalid.labels(route).inc()
            log.info("%s webhook kept as invalid: %s", route, intake.invalid)
            return _error(400, INVALID_ANSWER)
        for kind in intake.kinds:
            self.metrics.events.labels(route, kind).inc()
        if intake.duplicates:
            self.metrics.duplicates.labels(route).inc(intake.duplicates)
        if self.applier is not None and intake.event_ids:
            self.applier.submit(intake.event_ids)
        return JSONResponse(
            {"ok": True, "stored": len(intake.event_ids), "duplicates": intake.duplicates}
        )


def _error(status_code: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status_code)
