"""UIS (CoMagic) Call API as an agent-callback provider: ``start.simple_call`` rings one
operator (our agent) first, speaks the whisper, waits for a key press, then calls the contact
and bridges the two.

The request is built by the pure ``build_simple_call_params``; answers are read by the pure
functions of ``uis_answers``; ``UisClient`` adds the HTTP round trip and the access key: a
permanent key (``DIALER_UIS_ACCESS_TOKEN``) or a session key from ``login.user``
(``DIALER_UIS_LOGIN``/``DIALER_UIS_PASSWORD``), renewed before it expires and once more when
UIS refuses it. Events come from UIS's notification service (``uis_events``). Quirks,
sources and the notification set-up: docs/callback-uis.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import re
import time
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from dialer.errors import InvalidNumberError, ProviderAuthError, ProviderRefusedError
from dialer.providers.base import Submitted
from dialer.providers.callback_base import CallbackClient, CallbackRequest, agent_in_turn
from dialer.providers.http import USER_AGENT, mask_number, raise_for_transport_status, send
from dialer.providers.uis_answers import (
    LOGIN_METHOD,
    SIMPLE_CALL_METHOD,
    UisCallStarted,
    UisSession,
    UisTokenError,
    is_rpc_error,
    read_login_answer,
    read_simple_call_answer,
)
from dialer.settings import Settings

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/json; charset=UTF-8"
"""The Call API demands exactly this ``Content-Type`` ("Знакомство")."""
OPERATOR_CONFIRMATION = "any"
"""The operator presses any key before the contact is called: an operator's voicemail that
picks up never reaches the contact."""
RENEW_MARGIN_SECONDS = 60.0
"""A session key is renewed this long before its ``expire_at``."""
_E164 = re.compile(r"[0-9]{10,15}")
_PHONE_JUNK = re.compile(r"[\s()\-.]")


def e164_digits(number: str) -> str | None:
    """``"+7 (916) 123-45-67"`` -> ``"79161234567"``: the doc's E.164 without ``+``; ``None``
    when what remains is not 10-15 digits."""
    digits = _PHONE_JUNK.sub("", number.strip()).removeprefix("+")
    return digits if _E164.fullmatch(digits) else None


choose_operator = agent_in_turn
"""``start.simple_call`` takes a single ``operator``: the agents take turns."""


def build_simple_call_params(
    request: CallbackRequest, *, access_token: str, operator: str | None = None
) -> dict[str, object]:
    """The ``params`` of ``start.simple_call``: only parameters of the method's table (UIS
    answers ``unexpected_parameters`` to any other).

    ``InvalidNumberError`` for a contact that is no E.164 number;
    ``ProviderRefusedError(campaign_level=True)`` for an agent number or a caller id (the
    required ``virtual_phone_number``) that is missing or malformed.
    ``agent_timeout``, ``max_talk``, ``record`` and ``callback_url`` have no parameter here:
    UIS applies the account's own settings and sends events to the URL set up in the
    account."""
    chosen = operator if operator is not None else choose_operator(request)
    contact = e164_digits(request.contact)
    if contact is None:
        raise InvalidNumberError(f"{SIMPLE_CALL_METHOD}: contact is not an E.164 number")
    agent = e164_digits(chosen)
    if agent is None:
        raise ProviderRefusedError(
            f"{SIMPLE_CALL_METHOD}: agent {mask_number(chosen)} is not an E.164 number "
            "(UIS operators are phone numbers)",
            campaign_level=True,
        )
    virtual = e164_digits(request.caller_id or "")
    if virtual is None:
        raise ProviderRefusedError(
            f"{SIMPLE_CALL_METHOD}: caller_id must be one of the account's virtual numbers "
            "(virtual_phone_number is required)",
            campaign_level=True,
        )
    params: dict[str, object] = {
        "access_token": access_token,
        "first_call": "operator",
        "virtual_phone_number": virtual,
        # The table's default is "in": our call goes out.
        "direction": "out",
        "contact": contact,
        "operator": agent,
        "operator_confirmation": OPERATOR_CONFIRMATION,
    }
    if request.description:
        params["external_id"] = request.description
    if request.whisper:
        params["operator_message"] = {"type": "tts", "value": request.whisper}
    if request.contact_message:
        params["contact_message"] = {"type": "tts", "value": request.contact_message}
    return params


def build_login_params(login: str, password: SecretStr) -> dict[str, object]:
    """The ``params`` of ``login.user``."""
    return {"login": login, "password": password.get_secret_value()}


class UisClient(CallbackClient):
    """The Call API over one pooled connection. Timeouts are in seconds; ``clock`` gives Unix
    seconds (for ``expire_at``).

    Give ``access_token`` (a permanent key) or ``login`` and ``password``. A session key is
    fetched on first use and renewed ``RENEW_MARGIN_SECONDS`` before it expires; when UIS
    answers ``access_token_invalid``/``access_token_expired`` it is renewed once and the call
    sent once more (UIS refused it before acting). An ``asyncio.Lock`` makes concurrent
    requests wait for one login. Transport failures map as in ``dialer.providers.http``:
    a lost answer to ``start.simple_call`` is ``UnknownOutcomeError``; ``login.user`` places
    no call and is retried as transient.
    """

    reads_results = False

    def __init__(
        self,
        url: str,
        *,
        access_token: SecretStr | None = None,
        login: str = "",
        password: SecretStr | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        renew_margin: float = RENEW_MARGIN_SECONDS,
    ) -> None:
        permanent = access_token.get_secret_value() if access_token is not None else ""
        if not permanent and not (login and password and password.get_secret_value()):
            raise ValueError("UIS needs an access token, or a login and password")
        self._url = url
        self._permanent = permanent
        self._login = login
        self._password = password or SecretStr("")
        self._clock = clock
        self._renew_margin = renew_margin
        self._session: UisSession | None = None
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)
        timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self._client = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Content-Type": CONTENT_TYPE,
            },
            transport=transport,
        )

    async def place_callback(self, request: CallbackRequest) -> Submitted:
        started = await self.start_simple_call(request)
        return Submitted(started.call_session_id, started.raw)

    async def start_simple_call(self, request: CallbackRequest) -> UisCallStarted:
        """Place the call once; see ``read_simple_call_answer`` and ``build_simple_call_params``
        for the errors. Raises ``ProviderAuthError`` when a renewed session key is refused too.
        """
        operator = choose_operator(request)
        build_simple_call_params(request, access_token="", operator=operator)  # fail early
        key = await self._access_key()
        try:
            started = await self._start(request, operator, key)
        except UisTokenError:
            if self._permanent:
                raise
            key = await self._renew(stale=key)
            try:
                started = await self._start(request, operator, key)
            except UisTokenError as exc:
                raise ProviderAuthError(
                    f"{exc} (after a fresh login.user)", raw=exc.raw, status_code=exc.status_code
                ) from exc
        logger.debug(
            "UIS call started: to=%s operator=%s call_session_id=%s",
            mask_number(request.contact),
            mask_number(operator),
            started.call_session_id,
        )
        return started

    async def _start(self, request: CallbackRequest, operator: str, key: str) -> UisCallStarted:
        params = build_simple_call_params(request, access_token=key, operator=operator)
        response = await self._post(SIMPLE_CALL_METHOD, params, idempotent=False)
        return read_simple_call_answer(response.status_code, response.text)

    async def _access_key(self) -> str:
        if self._permanent:
            return self._permanent
        session = self._session
        if session is not None and not self._expiring(session):
            return session.access_token
        async with self._lock:
            # Whoever waited for the lock finds the key the first one fetched.
            if self._session is None or self._expiring(self._session):
                self._session = await self._log_in()
            return self._session.access_token

    async def _renew(self, *, stale: str) -> str:
        """A fresh session key unless another request already replaced ``stale``."""
        async with self._lock:
            if self._session is None or self._session.access_token == stale:
                self._session = await self._log_in()
            return self._session.access_token

    def _expiring(self, session: UisSession) -> bool:
        return self._clock() >= session.expire_at - self._renew_margin

    async def _log_in(self) -> UisSession:
        params = build_login_params(self._login, self._password)
        response = await self._post(LOGIN_METHOD, params, idempotent=True)
        session = read_login_answer(response.status_code, response.text, now=self._clock())
        logger.debug("UIS session key renewed, valid until %s", int(session.expire_at))
        return session

    async def _post(self, method: str, params: object, *, idempotent: bool) -> httpx.Response:
        body = {"jsonrpc": "2.0", "id": str(next(self._ids)), "method": method, "params": params}
        response = await send(
            self._client, "POST", self._url, json_body=body, idempotent=idempotent
        )
        # The docs show no HTTP statuses: a 401/403 that carries a JSON-RPC error is read like
        # any answer, so a refused session key is still renewed.
        if response.status_code not in (401, 403) or not is_rpc_error(response.text):
            raise_for_transport_status(response)
        return response

    async def aclose(self) -> None:
        await self._client.aclose()


def build_uis_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> UisClient:
    """The UIS client from ``DIALER_UIS_*``: the permanent key when it is set, else the login."""
    token = settings.uis_access_token
    return UisClient(
        settings.uis_api_url,
        access_token=token if token.get_secret_value() else None,
        login=settings.uis_login,
        password=settings.uis_password,
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        transport=transport,
    )


def uis_account_key(settings: Settings) -> str:
    """The rate-limit account: the login, or a digest of the permanent key (never the key)."""
    if settings.uis_login and not settings.uis_access_token.get_secret_value():
        return f"uis:{settings.uis_login}"
    digest = hashlib.sha256(settings.uis_access_token.get_secret_value().encode()).hexdigest()
    return f"uis:key-{digest[:12]}"


def missing_uis_credentials(settings: Settings) -> list[str]:
    """What a pre-flight check should ask for: nothing when a key, or a login and password,
    are set."""
    if settings.uis_access_token.get_secret_value():
        return []
    if settings.uis_login and settings.uis_password.get_secret_value():
        return []
    return ["DIALER_UIS_ACCESS_TOKEN (or DIALER_UIS_LOGIN and DIALER_UIS_PASSWORD)"]
