"""The MTT Business OAuth 2.0 server (doc sections 7-8): ``GET /oauth/authorize`` approves at
once (no login page) and redirects with ``code`` and ``state``; ``POST /oauth/token`` serves
the code exchange and the refresh, answering like the doc's examples (8.2's scope
``https://mtt.ru/auth/openapi.readwrite``, 8.3's padded with spaces).

Faithful where the doc speaks (2 h / 3 day lifetimes, configurable; 401 on an expired access
token); RFC 6749 where it is silent: form or JSON bodies, ``invalid_client`` (401),
``invalid_grant``/``invalid_request``/``invalid_scope``/``unsupported_grant_type`` (400),
one-use codes. A refresh token is good for one refresh: the second use of the same token is
``invalid_grant`` and counted (``refresh_rejected``), so a double refresh shows.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dialer.simulator.httputil import json_response, simulator_of
from dialer.simulator.mtt_business_account import MttBusinessAccount
from dialer.simulator.state import Simulator

SCOPE = "https://mtt.ru/auth.tokens.readwrite"
EXCHANGE_SCOPE = "https://mtt.ru/auth/openapi.readwrite"
"""The scope 8.2's answer shows (not the one asked for)."""
REFRESH_SCOPE = " https://mtt.ru/auth.tokens.readwrite "
"""The scope 8.3's answer shows, spaces included."""


@dataclass(slots=True)
class _Code:
    redirect_uri: str
    expires: float


@dataclass(slots=True)
class _Refresh:
    expires: float
    used: bool = False


@dataclass(slots=True)
class BusinessState:
    """Grants, tokens, calls and counters of one simulator, until its next reset. Times are
    ``time.monotonic()`` seconds."""

    stats: object
    codes: dict[str, _Code] = field(default_factory=dict)
    access: dict[str, float] = field(default_factory=dict)
    refresh: dict[str, _Refresh] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)
    recent: deque[float] = field(default_factory=deque)
    calls: dict[str, object] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def access_valid(self, token: str) -> bool:
        expires = self.access.get(token)
        return expires is not None and self.clock() < expires

    def expire(self, *, access: bool, refresh: bool) -> None:
        """End every current token's life now (a test's shortcut through 2 hours or 3 days)."""
        now = self.clock()
        if access:
            self.access = dict.fromkeys(self.access, now)
        if refresh:
            for grant in self.refresh.values():
                grant.expires = now

    def issue(self, account: MttBusinessAccount) -> tuple[str, str]:
        now = self.clock()
        access, refresh = _token(), _token()
        self.access[access] = now + account.access_token_seconds
        self.refresh[refresh] = _Refresh(now + account.refresh_token_seconds)
        return access, refresh


_STATES: weakref.WeakKeyDictionary[Simulator, BusinessState] = weakref.WeakKeyDictionary()


def business_state(sim: Simulator) -> BusinessState:
    """The MTT Business state since the simulator's last start or reset."""
    state = _STATES.get(sim)
    if state is None or state.stats is not sim.stats:
        state = _STATES[sim] = BusinessState(sim.stats)
    return state


async def authorize_endpoint(request: Request) -> Response:
    """``GET /oauth/authorize``: a bad ``client_id`` or ``redirect_uri`` is answered here
    (never redirected, RFC 6749 4.1.2.1); the rest goes back to ``redirect_uri``."""
    sim = simulator_of(request)
    account = sim.config.mtt_business
    query = request.query_params
    state = business_state(sim)
    if query.get("client_id") != account.client_id:
        return _page(400, "Unknown client_id")
    redirect_uri = query.get("redirect_uri", "")
    if not redirect_uri.startswith(("http://", "https://")) or (
        account.redirect_uri is not None and redirect_uri != account.redirect_uri
    ):
        return _page(400, "redirect_uri does not match the integration")
    back: dict[str, str] = {}
    if query.get("response_type") != "code":
        back["error"] = "unsupported_response_type"
    elif query.get("scope") != SCOPE:
        back["error"] = "invalid_scope"
    else:
        code = secrets.token_urlsafe(12)
        state.codes[code] = _Code(redirect_uri, state.clock() + account.code_seconds)
        state.counters["codes_issued"] += 1
        back["code"] = code
    if "state" in query:
        back["state"] = query["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(back)}", status_code=302)


async def token_endpoint(request: Request) -> Response:
    """``POST /oauth/token``: ``authorization_code`` and ``refresh_token`` grants."""
    sim = simulator_of(request)
    account = sim.config.mtt_business
    state = business_state(sim)
    form = await _form(request)
    state.counters["token_requests"] += 1
    if not _client_ok(form, account):
        return _oauth_error(401, "invalid_client")
    grant = form.get("grant_type")
    if grant == "authorization_code":
        return _exchange(state, account, form)
    if grant == "refresh_token":
        return _refresh(state, account, form)
    return _oauth_error(400, "unsupported_grant_type")


def _exchange(state: BusinessState, account: MttBusinessAccount, form: dict[str, str]) -> Response:
    if form.get("scope") not in (None, SCOPE):
        return _oauth_error(400, "invalid_scope")
    code = state.codes.pop(form.get("code", ""), None)  # one use, whatever the outcome
    if code is None or state.clock() >= code.expires:
        return _oauth_error(400, "invalid_grant", "code is invalid or expired")
    if form.get("redirect_uri") != code.redirect_uri:
        return _oauth_error(400, "invalid_grant", "redirect_uri does not match")
    access, refresh = state.issue(account)
    state.counters["code_exchanges"] += 1
    return _tokens(access, refresh, account, EXCHANGE_SCOPE)


def _refresh(state: BusinessState, account: MttBusinessAccount, form: dict[str, str]) -> Response:
    token = form.get("refresh_token")
    if not token:
        # 8.3's table forgets the parameter; a server cannot do without it.
        return _oauth_error(400, "invalid_request", "refresh_token is required")
    grant = state.refresh.get(token)
    if grant is None or grant.used or state.clock() >= grant.expires:
        state.counters["refresh_rejected"] += 1
        return _oauth_error(400, "invalid_grant", "refresh token is invalid or expired")
    grant.used = True
    state.counters["refresh_uses"] += 1
    access, refresh = state.issue(account)
    return _tokens(access, refresh, account, REFRESH_SCOPE)


def _tokens(access: str, refresh: str, account: MttBusinessAccount, scope: str) -> Response:
    return json_response(
        {
            "access_token": access,
            "expires_in": round(account.access_token_seconds),
            "refresh_token": refresh,
            "scope": scope,
            "token_type": "Bearer",
        }
    )


async def _form(request: Request) -> dict[str, str]:
    """The grant's fields from a form or a JSON object body (the doc names neither)."""
    body = (await request.body()).decode("utf-8", "replace").strip()
    if body.startswith("{"):
        try:
            value = json.loads(body)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
    return dict(parse_qsl(body, keep_blank_values=True))


def _client_ok(form: dict[str, str], account: MttBusinessAccount) -> bool:
    given_id = form.get("client_id", "").encode()
    given_secret = form.get("client_secret", "").encode()
    id_ok = hmac.compare_digest(given_id, account.client_id.encode())
    secret_ok = hmac.compare_digest(given_secret, account.client_secret.get_secret_value().encode())
    return id_ok and secret_ok


def _oauth_error(status: int, error: str, description: str | None = None) -> Response:
    document = {"error": error}
    if description:
        document["error_description"] = description
    headers = {"WWW-Authenticate": 'Basic realm="oauth"'} if status == 401 else None
    response = json_response(document, status)
    if headers:
        response.headers.update(headers)
    return response


def _page(status: int, text: str) -> Response:
    return Response(f"<html><body><h1>{text}</h1></body></html>", status, media_type="text/html")


def _token() -> str:
    """Opaque tokens shaped like the doc's: 48 upper-case letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(48))
