"""The OAuth Redirect URI on the collector: ``GET /hooks/{token}/mtt-business?code=...&state=...``.
The browser of whoever ran ``dialer connect mtt-business`` comes back here; the code is
exchanged and the tokens stored sealed. Answers are one line of text (never a token)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from dialer.collector.tokens import token_matches
from dialer.errors import DialerError, ProviderError
from dialer.settings import Settings

log = logging.getLogger(__name__)


def mtt_business_redirect(
    settings: Settings, engine: Engine
) -> Callable[[Request], Awaitable[Response]]:
    token = settings.webhook_token.get_secret_value()

    async def redirect(request: Request) -> Response:
        if not token_matches(str(request.path_params.get("token", "")), token):
            return PlainTextResponse("Not Found", status_code=404)
        code = request.query_params.get("code", "")
        state = request.query_params.get("state", "")
        if not code or not state:
            refused = request.query_params.get("error", "no code in the address")
            return _line(400, f"MTT Business did not authorise the dialer: {refused[:200]}")
        try:
            await run_in_threadpool(_complete, settings, engine, code, state)
        except ProviderError as exc:
            log.warning("MTT Business refused the authorisation code: %s", exc)
            return _line(400, f"MTT Business refused the code: {exc}")
        except DialerError as exc:  # a stale state, no secret key
            return _line(400, str(exc))
        return _line(200, "MTT Business is connected; you can close this page.")

    return redirect


def _complete(settings: Settings, engine: Engine, code: str, state: str) -> None:
    from dialer.connections import store
    from dialer.connections.mtt_business import PROVIDER, grants
    from dialer.connections.sealing import Sealer
    from dialer.db.types import utcnow

    sealer = Sealer(settings.secret_key)
    store.complete(engine, PROVIDER, code, lambda: grants(settings), sealer, utcnow(), state=state)


def _line(status: int, text: str) -> Response:
    return PlainTextResponse(text + "\n", status_code=status)
