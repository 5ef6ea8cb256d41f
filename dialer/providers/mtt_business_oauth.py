"""OAuth 2.0 of MTT Business's Open API (mtt-business-openapi.txt sections 7-8): the authorize
URL a person opens, and the two grants on ``/oauth/token`` (the code exchange and the refresh).

Pure builders (``authorize_url``, ``code_exchange_form``, ``refresh_form``) and a pure reader
(``read_token_answer``) do the work; ``OAuthClient`` only adds the HTTP round trip on the
plumbing of ``dialer.providers.http``. Storing tokens, the ``dialer connect`` command and
the cross-process refresh lock live elsewhere.

Secrets: the client secret, the code and every token stay out of log lines, error messages
and ``ProviderError.raw`` (only the answer's ``error``/``error_description`` are kept), and
out of ``repr(TokenSet)``.

Doc quirks and what we do about them: docs/callback-mtt-business.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from dialer.errors import (
    GrantLapsedError,
    ProviderAuthError,
    ProviderError,
    TransientProviderError,
)
from dialer.providers.http import build_client, send
from dialer.providers.loose_json import loads_lenient

logger = logging.getLogger(__name__)

DEFAULT_OAUTH_URL = "https://oauth.mtt.ru"
SCOPE = "https://mtt.ru/auth.tokens.readwrite"
"""The only scope the doc allows ("Обязательно должен быть установлено значение")."""
ACCESS_TOKEN_LIFETIME = timedelta(hours=2)
"""Used when an answer has no usable ``expires_in`` (doc 7.6: "2 часа")."""
REFRESH_TOKEN_LIFETIME = timedelta(days=3)
"""A refresh token's life (doc 7.6: "3 календарных дня"); no answer states it."""
AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
HOOK_PATH = "mtt-business"
"""Under ``/hooks/<token>/``: the integration's Redirect URI, which is also where MTT posts
its notifications (doc 7.3)."""

LAPSED_GRANT_ERRORS = frozenset({"invalid_grant"})
"""OAuth ``error`` codes (RFC 6749 section 5.2) that mean the grant itself is dead."""
CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client"})
"""OAuth ``error`` codes that mean our client id or secret is wrong (a settings problem)."""
_REDACTED = "<redacted>"


@dataclass(frozen=True, slots=True)
class TokenSet:
    """The tokens of one grant, with absolute expiry times (timezone-aware, UTC).

    ``refresh_expires_at`` is ``None`` only when a refresh answer carried no new refresh
    token: the one sent stays in use and its stored expiry stands. ``scope`` is as MTT sent
    it, stripped (never checked: the doc's own examples disagree, see the quirks table).
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    scope: str = ""
    token_type: str = "Bearer"

    def access_expired(self, now: datetime, margin: timedelta = timedelta(seconds=60)) -> bool:
        """Whether the access token is (or within ``margin`` will be) past its life."""
        return now + margin >= self.access_expires_at

    def refresh_lapsed(self, now: datetime) -> bool:
        """Whether the refresh token is known to be past its life (then only reconnecting
        helps). ``False`` when its expiry is not known."""
        return self.refresh_expires_at is not None and now >= self.refresh_expires_at


def authorize_url(oauth_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    """``GET https://{hostoauth}/oauth/authorize`` with the doc's five parameters; the person
    logs in to MTT Business there and is sent to ``redirect_uri?code=...&state=...``.
    ``state`` is optional in the doc; we always send one (CSRF protection)."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "response_type": "code",
            "state": state,
        }
    )
    return f"{oauth_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"


def default_redirect_uri(public_url: str | None, webhook_token: str) -> str | None:
    """``DIALER_PUBLIC_URL/hooks/<token>/mtt-business``, or ``None`` without a public URL or
    token. It carries the webhook token: it must be registered as the integration's Redirect
    URI in MTT's cabinet and is shown in the browser during ``dialer connect``."""
    if not public_url or not webhook_token:
        return None
    return f"{public_url.rstrip('/')}/hooks/{webhook_token}/{HOOK_PATH}"


def code_exchange_form(
    client_id: str, client_secret: SecretStr, code: str, redirect_uri: str
) -> dict[str, str]:
    """The form of the ``authorization_code`` grant: every parameter of the doc's table
    (section 8.2), ``scope`` included."""
    return {
        "client_id": client_id,
        "client_secret": client_secret.get_secret_value(),
        "code": code,
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "grant_type": "authorization_code",
    }


def refresh_form(client_id: str, client_secret: SecretStr, refresh_token: str) -> dict[str, str]:
    """The form of the ``refresh_token`` grant. The doc's table (section 8.3) lists only
    ``client_id``, ``client_secret`` and ``grant_type``: it forgets the refresh token itself,
    which the grant cannot work without (RFC 6749 section 6), so ``refresh_token`` is added.
    No ``scope``: the table has none and RFC 6749 makes it optional."""
    return {
        "client_id": client_id,
        "client_secret": client_secret.get_secret_value(),
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }


def read_token_answer(
    status_code: int,
    body: str,
    *,
    grant: str,
    now: datetime,
    sent_refresh_token: str | None = None,
    redact: Iterable[str] = (),
) -> TokenSet:
    """The tokens in an answer of ``/oauth/token``, or the error it means.

    ``grant`` is ``"authorization_code"`` or ``"refresh_token"`` (for the messages, and for
    a refresh answer without a new refresh token: ``sent_refresh_token`` then stays).
    ``redact``: the secrets that were sent (client secret, code, refresh token); should the
    answer echo one, it is cut from the error too.

    Raises:
    - ``GrantLapsedError`` (a ``ProviderAuthError``): HTTP 400 or 401 whose OAuth ``error``
      is ``invalid_grant``, or a 400/401 with no OAuth ``error`` at all (MTT documents no
      error body). For the refresh grant that is "the refresh token has lapsed", for the
      code exchange "the code expired or was used": connect again either way.
    - ``ProviderAuthError``: ``invalid_client``/``unauthorized_client`` (the client id or
      secret is wrong), any other OAuth ``error`` (``invalid_request``, ``invalid_scope``,
      ``unsupported_grant_type``: our request, refused every time), any other 3xx/4xx
      (a wrong ``DIALER_MTT_BUSINESS_OAUTH_URL``).
    - ``TransientProviderError``: HTTP 429 and 5xx (the grant was not processed).
    - ``ProviderError``: a 2xx answer without a readable access token.
    """
    status = status_code
    document = _json_object(body)
    secrets = tuple(secret for secret in redact if secret)
    raw = _scrub(_safe_raw(document), secrets)
    error = _text(document.get("error")) if document is not None else None
    shown = _scrub(error, secrets)[:40] if error is not None else f"HTTP {status}"
    if status == 429 or status >= 500:
        raise TransientProviderError(
            f"MTT Business {grant}: HTTP {status}", raw=raw, status_code=status
        )
    if status in (400, 401) and (error is None or error in LAPSED_GRANT_ERRORS):
        what = "refresh token" if grant == "refresh_token" else "authorization code"
        raise GrantLapsedError(
            f"MTT Business {what} refused ({shown}): reconnect MTT Business (dialer connect)",
            raw=raw,
            status_code=status,
        )
    if error is not None or not 200 <= status < 300:
        if error in CLIENT_ERRORS or status == 403:
            hint = "check DIALER_MTT_BUSINESS_CLIENT_ID and DIALER_MTT_BUSINESS_CLIENT_SECRET"
        elif error is None:
            hint = "check DIALER_MTT_BUSINESS_OAUTH_URL"
        else:
            hint = "the token request was refused"
        raise ProviderAuthError(
            f"MTT Business {grant}: {shown}: {hint}", raw=raw, status_code=status
        )
    if document is None:
        raise ProviderError(
            f"MTT Business {grant}: unreadable answer (HTTP {status})", status_code=status
        )
    return _token_set(
        document, grant=grant, now=now, sent_refresh_token=sent_refresh_token, raw=raw
    )


class OAuthClient:
    """The two grants of ``/oauth/token`` over one pooled connection. Timeouts in seconds.

    Transport trouble is ``TransientProviderError`` (also an answer lost after sending: a
    token request changes nothing a repeat could harm, except that a refresh token MTT
    already swapped is gone, and then the repeat answers ``GrantLapsedError``).
    """

    def __init__(
        self,
        oauth_url: str,
        client_id: str,
        client_secret: SecretStr,
        redirect_uri: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._oauth_url = oauth_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._clock = clock or _utc_now
        self._client = build_client(
            connect_timeout=connect_timeout, read_timeout=read_timeout, transport=transport
        )

    def authorize_url(self, state: str) -> str:
        """Where to send the person who connects the account (see ``authorize_url``)."""
        return authorize_url(self._oauth_url, self._client_id, self._redirect_uri, state)

    async def exchange_code(self, code: str) -> TokenSet:
        """Trade the ``code`` from the redirect for tokens; see ``read_token_answer``."""
        form = code_exchange_form(self._client_id, self._client_secret, code, self._redirect_uri)
        return await self._grant(form, grant="authorization_code")

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token for new tokens; the one sent must not be used again
        (``GrantLapsedError`` when it has lapsed, see ``read_token_answer``)."""
        form = refresh_form(self._client_id, self._client_secret, refresh_token)
        return await self._grant(form, grant="refresh_token", sent_refresh_token=refresh_token)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _grant(
        self, form: Mapping[str, str], *, grant: str, sent_refresh_token: str | None = None
    ) -> TokenSet:
        response = await send(
            self._client, "POST", f"{self._oauth_url}{TOKEN_PATH}", form=form, idempotent=True
        )
        tokens = read_token_answer(
            response.status_code,
            response.text,
            grant=grant,
            now=self._clock(),
            sent_refresh_token=sent_refresh_token,
            redact=(form.get("client_secret", ""), form.get("code", ""), sent_refresh_token or ""),
        )
        logger.info(
            "MTT Business %s granted: access token until %s", grant, tokens.access_expires_at
        )
        return tokens


def _token_set(
    document: Mapping[str, object],
    *,
    grant: str,
    now: datetime,
    sent_refresh_token: str | None,
    raw: str,
) -> TokenSet:
    access = _text(document.get("access_token"))
    if access is None:
        raise ProviderError(f"MTT Business {grant}: answer without access_token", raw=raw)
    token_type = _text(document.get("token_type")) or "Bearer"
    if token_type.lower() != "bearer":
        # Only Bearer is documented (8.2); a MAC or DPoP token would be sent wrongly.
        raise ProviderError(f"MTT Business {grant}: token_type is not Bearer", raw=raw)
    refresh = _text(document.get("refresh_token"))
    refresh_expires_at: datetime | None = now + REFRESH_TOKEN_LIFETIME
    if refresh is None:
        if sent_refresh_token is None:  # a code exchange must give both tokens (doc 7.5)
            raise ProviderError(f"MTT Business {grant}: answer without refresh_token", raw=raw)
        refresh, refresh_expires_at = sent_refresh_token, None
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + _lifetime(document.get("expires_in")),
        refresh_expires_at=refresh_expires_at,
        scope=(_text(document.get("scope")) or "").strip(),
        token_type="Bearer",
    )


def _lifetime(value: object) -> timedelta:
    """``expires_in`` seconds (a number or digits); the doc's 2 hours when absent or odd."""
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, float) and value.is_integer():
        seconds = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    if seconds is None or seconds <= 0:
        return ACCESS_TOKEN_LIFETIME
    return timedelta(seconds=seconds)


def _json_object(body: str) -> dict[str, object] | None:
    try:
        value = loads_lenient(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _safe_raw(document: Mapping[str, object] | None) -> str:
    """What of a token answer may be kept: the OAuth error fields, never a token."""
    if document is None:
        return ""
    kept = {
        key: document[key] if key in ("error", "error_description", "error_uri") else _REDACTED
        for key in document
    }
    return json.dumps(kept, ensure_ascii=False)[:500]


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "CLIENT_ERRORS",
    "DEFAULT_OAUTH_URL",
    "HOOK_PATH",
    "LAPSED_GRANT_ERRORS",
    "REFRESH_TOKEN_LIFETIME",
    "SCOPE",
    "OAuthClient",
    "TokenSet",
    "authorize_url",
    "code_exchange_form",
    "default_redirect_uri",
    "read_token_answer",
    "refresh_form",
]
