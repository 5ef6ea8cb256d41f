"""Bitrix24 telephony's callback through an inbound REST webhook: ``voximplant.callback.start``
rings one of the portal's lines (side A: the line's own queue and forwarding rules pick the
employee), speaks ``TEXT_TO_PRONOUNCE`` to whoever answers, then calls ``TO_NUMBER`` (side B)
and bridges the two.

The request is built by the pure ``build_callback_start_params``; answers are read by the
pure functions of ``bitrix24_answers``; ``Bitrix24Client`` only adds the HTTP round trip on
``dialer.providers.http``'s transport mapping. Events come by another path (an outbound
webhook configured in the portal): ``bitrix24_events``.

What the method cannot take, and is therefore not sent: several agents (one ``FROM_LINE``
per call: the lines take turns, see ``line_for``), ring mode, agent
timeout, the contact's message, caller id, recording and the longest talk (all are the
line's settings in the portal), the callback URL and our attempt id (nothing is echoed back:
events are matched by ``CALL_ID`` alone). Quirks: docs/callback-bitrix24.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import httpx
from pydantic import SecretStr

from dialer.errors import ProviderError, ProviderRefusedError
from dialer.providers.base import Submitted
from dialer.providers.bitrix24_answers import (
    CALLBACK_START_METHOD,
    LINE_GET_METHOD,
    CallbackStarted,
    read_callback_start_answer,
    read_line_get_answer,
)
from dialer.providers.bitrix24_webhook import RestWebhook, parse_rest_webhook
from dialer.providers.callback_base import CallbackClient, CallbackRequest, agent_in_turn
from dialer.providers.http import USER_AGENT, mask_number, send

if TYPE_CHECKING:
    from dialer.settings import Settings

logger = logging.getLogger(__name__)

LINE_ID_PATTERN = r"^(?:reg|sip)?[0-9]{1,15}$"
"""A line id as the docs show them: ``XXX`` (rented numbers), ``regXXX`` (cloud PBX),
``sipXXX`` (office PBX) - ``ACCOUNT_SEARCH_ID`` of OnVoximplantCallInit; ``reg1332``,
``reg151083``, ``sip7`` in the examples. The campaign file's ``agents`` should match it."""
_LINE_ID = re.compile(LINE_ID_PATTERN)
_T = TypeVar("_T")


def line_for(request: CallbackRequest) -> str:
    """The ``FROM_LINE`` of ``request``: the line whose turn it is (``agent_in_turn``).
    Bitrix24 rings one line per call (the line's queue spreads calls over its employees).
    Raises ``ProviderRefusedError(campaign_level=True)``
    for a value that is no line id (every call of the campaign would carry it)."""
    line = agent_in_turn(request)
    if not _LINE_ID.fullmatch(line):
        raise ProviderRefusedError(
            f"{line[:40]!r} is not a Bitrix24 line id (XXX, regXXX or sipXXX, as "
            f"{LINE_GET_METHOD} lists them)",
            campaign_level=True,
        )
    return line


def build_callback_start_params(request: CallbackRequest, *, voice: str = "") -> dict[str, str]:
    """The parameters of ``voximplant.callback.start``, in the docs' order. ``VOICE`` only
    when one is configured (the portal's default voice otherwise). ``ValueError`` for an
    empty whisper: ``TEXT_TO_PRONOUNCE`` is required, and without it the agent cannot tell
    a callback from an ordinary inbound call."""
    if not request.whisper.strip():
        raise ValueError("TEXT_TO_PRONOUNCE (the whisper) must not be empty")
    params = {
        "FROM_LINE": line_for(request),
        # As the reference example writes it (7911xxxxxxx): our 11 digits, no "+".
        "TO_NUMBER": request.contact,
        "TEXT_TO_PRONOUNCE": request.whisper,
    }
    if voice:
        params["VOICE"] = voice
    return params


class Bitrix24Client(CallbackClient):
    """``voximplant.callback.start`` over one pooled connection; timeouts in seconds.

    ``webhook_url`` is ``DIALER_BITRIX24_WEBHOOK_URL``. Its code never appears in an error's
    message or ``raw``: every ``ProviderError`` leaving this client is scrubbed, and one whose
    cause mentions the code loses the cause. A URL that is not an inbound webhook is refused
    at the first call (``ProviderRefusedError(campaign_level=True)``). Starting a callback
    is not idempotent: an answer lost after sending is ``UnknownOutcomeError`` (the line may
    be ringing); reading the lines is, and maps to ``TransientProviderError``.
    """

    reads_results = False

    def __init__(
        self,
        webhook_url: SecretStr,
        *,
        voice: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._voice = voice
        self._webhook: RestWebhook | None
        self._url_problem = ""
        try:
            self._webhook = parse_rest_webhook(webhook_url.get_secret_value())
        except ValueError as exc:
            self._webhook, self._url_problem = None, str(exc)
        timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self._client = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )

    async def start_callback(self, request: CallbackRequest) -> CallbackStarted:
        """Send ``voximplant.callback.start`` once; see ``read_callback_start_answer``."""
        params = build_callback_start_params(request, voice=self._voice)
        started = await self._call(
            CALLBACK_START_METHOD, params, read_callback_start_answer, idempotent=False
        )
        logger.debug(
            "bitrix24 callback started: line=%s to=%s call_id=%s",
            params["FROM_LINE"],
            mask_number(request.contact),
            started.call_id,
        )
        return started

    async def place_callback(self, request: CallbackRequest) -> Submitted:
        started = await self.start_callback(request)
        return Submitted(started.call_id, started.raw)

    async def lines(self) -> dict[str, str]:
        """``voximplant.line.get``: ``{line id: name}`` of the portal's outgoing lines, for a
        pre-flight check. Needs the "Management of numbers - modification" permission, which
        the callback itself does not: ``ProviderAuthError`` here says only that the check
        cannot be made."""
        return await self._call(LINE_GET_METHOD, {}, read_line_get_answer, idempotent=True)

    async def missing_lines(self, lines: tuple[str, ...]) -> list[str]:
        """Those of ``lines`` the portal does not list, in order."""
        known = await self.lines()
        return [line for line in lines if line not in known]

    async def _call(
        self,
        method: str,
        params: dict[str, str],
        read: Callable[[int, str], _T],
        *,
        idempotent: bool,
    ) -> _T:
        webhook = self._endpoint()
        try:
            response = await send(
                self._client,
                "POST",
                webhook.method_url(method),
                json_body=params,
                idempotent=idempotent,
            )
            return read(response.status_code, response.text)
        except ProviderError as exc:
            _scrub(exc, webhook)
            raise

    def _endpoint(self) -> RestWebhook:
        if self._webhook is None:
            raise ProviderRefusedError(
                f"DIALER_BITRIX24_WEBHOOK_URL: {self._url_problem}", campaign_level=True
            )
        return self._webhook

    async def aclose(self) -> None:
        await self._client.aclose()


def build_bitrix24_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> Bitrix24Client:
    """The client of ``[callback] provider = "bitrix24"``: the inbound webhook, the voice."""
    return Bitrix24Client(
        settings.bitrix24_webhook_url,
        voice=settings.bitrix24_voice,
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        transport=transport,
    )


def _scrub(error: ProviderError, webhook: RestWebhook) -> None:
    """``error`` with the webhook code removed from its message and ``raw`` (an HTML error
    page may echo the path); a cause that mentions the code is dropped."""
    error.args = tuple(webhook.scrub(a) if isinstance(a, str) else a for a in error.args)
    error.raw = webhook.scrub(error.raw)
    cause = error.__cause__
    if cause is not None and webhook.code and webhook.code in f"{cause!s} {cause!r}":
        error.__cause__ = None
        error.__suppress_context__ = True
