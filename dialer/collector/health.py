"""``/healthz``: is the database reachable, and the broker (when there is one)?"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
import anyio.to_thread
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0
"""How long each reachability check may take before it counts as failed, in seconds."""

BrokerPing = Callable[[], bool]


def database_ok(engine: Engine) -> bool:
    """``SELECT 1`` succeeds. Never raises (a failure is logged and returns ``False``)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        log.warning("healthz: database unreachable", exc_info=True)
        return False
    return True


def broker_ok(ping: BrokerPing) -> bool:
    """``ping()`` returns true. Never raises."""
    try:
        return bool(ping())
    except Exception:
        log.warning("healthz: broker unreachable", exc_info=True)
        return False


async def _checked(check: Callable[[], bool]) -> bool:
    """Run a blocking check in a thread; past the timeout stop waiting and report failure."""
    with anyio.move_on_after(CHECK_TIMEOUT_SECONDS):
        return await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
    log.warning("healthz: check timed out after %.1f s", CHECK_TIMEOUT_SECONDS)
    return False


def health_endpoint(
    engine: Engine, broker_ping: BrokerPing | None
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The ``/healthz`` endpoint: 200 ``{"status": "ok", "db": true, "broker": true|null}``,
    or 503 with ``"status": "unavailable"`` and the failing part ``false``."""

    async def healthz(request: Request) -> JSONResponse:
        db = await _checked(lambda: database_ok(engine))
        broker: bool | None = None
        if broker_ping is not None:
            broker = await _checked(lambda: broker_ok(broker_ping))
        healthy = db and broker is not False
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "db": db, "broker": broker},
            status_code=200 if healthy else 503,
        )

    return healthz
