"""The webhook endpoints: check the token, read the body within the limit, store, answer.

Order of checks: wrong token -> 404 (nothing read, nothing stored); method -> 405; body over
the limit -> 413; a slow body (still arriving after half a second) finding every slow-body
slot taken -> 503 at once (MTT delivers again; bodies that arrive at once never need a
slot); body not received within the read timeout -> 408 (nothing stored); then the request is
stored (events, or raw text when unparseable) and committed before any 2xx/400. Storage
failure -> 503 so MTT delivers again.

A 400 says only that the event was unreadable and kept: the parser's or the database
driver's text stays in the stored row's ``error`` and in the log, never in the answer.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from dialer.channels.base import Parser
from dialer.collector.applier import Applier
from dialer.collector.body import (
    BodyReadSlots,
    BodyTimeoutError,
    NoBodySlotError,
    read_limited_body,
)
from dialer.collector.intake import Intake, take_in
from dialer.collector.metrics import CollectorMetrics
from dialer.collector.parsing import HookRoute
from dialer.collector.raw import raw_request_text
from dialer.collector.tokens import token_matches
from dialer.collector.writes import WriteGate

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]

INVALID_ANSWER = "unreadable event; kept for inspection"
"""The whole reason a 400 gives: the detail is the sender's to find in our logs, not ours to
echo (it can carry driver internals or the body's own text)."""
_CLOSE = {"Connection": "close"}


@dataclass(frozen=True, slots=True)
class WebhookReceiver:
    """Everything the webhook endpoints share. ``token`` is the configured secret (empty:
    every request is refused); ``max_body_bytes`` the body limit in bytes; with
    an ``applier`` the new events are applied in the background after the answer (without
    one they wait for the scheduler's sweep); ``gate`` queues the database writes (SQLite).
    ``body_timeout`` is the seconds a whole body may take to arrive; ``body_slots`` caps the
    slow bodies read at once (see ``dialer.collector.body``)."""

    engine: Engine
    metrics: CollectorMetrics
    token: str
    max_body_bytes: int
    gate: WriteGate
    body_slots: BodyReadSlots
    body_timeout: float = math.inf
    applier: Applier | None = None
    parsers: Mapping[str, Parser] | None = None
    """The routes' parsers bound to the collector's settings (default: unbound)."""
    redact: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    """Per route: what cleans the raw request text before it is stored."""

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
            body = await read_limited_body(
                request, self.max_body_bytes, timeout=self.body_timeout, slots=self.body_slots
            )
        except ClientDisconnect:
            return _error(400, "client disconnected")
        except NoBodySlotError:
            log.warning(
                "%s webhook refused: %d slow bodies already being read",
                route,
                self.body_slots.limit,
            )
            return _error(503, "busy", headers=_CLOSE)
        except BodyTimeoutError:
            log.warning("%s webhook body not received within %g s", route, self.body_timeout)
            return _error(408, "body not received in time", headers=_CLOSE)
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
                query=_fields(request),
                raw=self.redact.get(route, _same)(
                    raw_request_text(request.method, content_type, query_bytes, body)
                ),
                now=now,
                parsers=self.parsers,
            )
        except SQLAlchemyError as exc:
            log.warning("%s webhook not stored: %s", route, type(exc).__name__, exc_info=True)
            return _error(503, "storage unavailable")
        except Exception:
            log.exception("%s webhook not stored", route)
            return _error(503, "storage unavailable")
        return self._answer(route, intake, now)

    def _answer(self, route: HookRoute, intake: Intake, now: datetime) -> Response:
        if intake.forbidden is not None:
            # Like a wrong path token: nothing stored, nothing said.
            log.warning("%s webhook refused: %s", route, intake.forbidden)
            return PlainTextResponse("Not Found", status_code=404)
        if intake.invalid is not None:
            self.metrics.invalid.labels(route).inc()
            log.warning("%s webhook unreadable, kept as invalid: %s", route, intake.invalid)
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


def _same(text: str) -> str:
    return text


def _fields(request: Request) -> dict[str, str]:
    """The query string's fields, and the path's (but the token): the path wins."""
    fields = dict(request.query_params)
    fields.update((key, str(value)) for key, value in request.path_params.items() if key != "token")
    return fields


def _error(status_code: int, reason: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status_code, headers=headers)
