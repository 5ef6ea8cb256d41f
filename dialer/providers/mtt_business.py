"""MTT Business Open API as an agent-callback provider: ``makeCall`` rings one of our
workplaces (the agent, first leg) and, once it answers, calls the contact (second leg).

Requests are built by pure functions here (``build_make_call_params``), answers read by
``mtt_business_answers``; ``MttBusinessClient`` adds the HTTP round trip with the Bearer
token of a ``TokenSource`` (OAuth 2.0, see ``mtt_business_oauth``): on a 401 it asks the
source once for a newer token and sends once more.

What ``makeCall`` cannot do, compared with MTT's CallBack API: it rings exactly one
workplace (``callerId``, the first agent of the request: the channel orders them), speaks
no whisper or contact message, takes no ring timeout, caller id, recording switch, talk
limit, callback URL or description. Its events come as ``callNotifications`` to the
integration's Redirect URI (``mtt_business_events``).

Doc quirks and what we do about them: docs/callback-mtt-business.md.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

import httpx

from dialer.errors import InvalidNumberError, ProviderAuthError, ProviderRefusedError
from dialer.providers.base import Submitted
from dialer.providers.callback_base import CallbackClient, CallbackRequest, agent_in_turn
from dialer.providers.http import (
    build_client,
    mask_number,
    raise_for_transport_status,
    send,
)
from dialer.providers.mtt_business_answers import (
    MAKE_CALL_METHOD,
    WORKPLACES_METHOD,
    Workplace,
    missing_workplaces,
    read_make_call_answer,
    read_workplaces_answer,
)

logger = logging.getLogger(__name__)

RATE_PER_SECOND = 5
"""The Open API's limit "на каждый экземпляр решения" (doc 6.7): per integration (client id)."""
_SIP_ID = re.compile(r"[0-9]{1,32}")
_CONTACT = re.compile(r"\+?[0-9]{5,20}")


class TokenSource(Protocol):
    """Where the client gets its Bearer token (the lead's store, or ``StaticTokenSource``)."""

    async def access_token(self) -> str:
        """The current access token. Raises ``ProviderAuthError`` when there is none."""
        ...

    async def refreshed(self, rejected: str) -> str:
        """A token newer than ``rejected``, which the API just answered 401 to (refreshing
        it if nobody has yet). Raises ``ProviderAuthError`` (``GrantLapsedError`` when the
        refresh token has lapsed)."""
        ...


class StaticTokenSource:
    """One fixed token, for tests and the simulator; a 401 cannot be cured by it."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def access_token(self) -> str:
        return self._token

    async def refreshed(self, rejected: str) -> str:
        raise ProviderAuthError("MTT Business: the access token was refused (static token)")


def build_make_call_params(request: CallbackRequest) -> dict[str, object]:
    """The body of ``makeCall``: ``{"params": {"calleid": contact, "callerId": workplace}}``
    (doc 10.3.1: ``calleid`` spelled so, the workplace's SIP ID as ``callerId``).

    The workplace is the agent whose turn it is (``agent_in_turn``): ``makeCall`` rings one.
    ``ProviderRefusedError(campaign_level=True)``
    when it is not a SIP ID (digits); ``InvalidNumberError`` for a contact that is not a
    number; ``ValueError`` for a request no campaign should produce (no agents)."""
    workplace = agent_in_turn(request).strip()
    if not _SIP_ID.fullmatch(workplace):
        raise ProviderRefusedError(
            f"{MAKE_CALL_METHOD}: agent {workplace[:20]!r} is not a workplace SIP ID",
            campaign_level=True,
        )
    contact = request.contact.strip()
    if not _CONTACT.fullmatch(contact):
        raise InvalidNumberError(
            f"{MAKE_CALL_METHOD}: contact {mask_number(contact)} is not a number"
        )
    # Sent as the dialer holds it (E.164 digits): the doc's example uses "8921...", its
    # notifications show "+7921..." and "7921..." for the same subscriber (6.4: no rewriting).
    return {"params": {"calleid": contact.lstrip("+"), "callerId": workplace}}


class MttBusinessClient(CallbackClient):
    """The Open API's call methods over one pooled connection. Timeouts are in seconds.

    ``api_url`` is the base the method names are appended to (``<api_url>/makeCall``).
    Transport failures map as in ``dialer.providers.http``: a ``makeCall`` whose answer is
    lost raises ``UnknownOutcomeError`` (the agent may be ringing); ``workplacesInfo`` is a
    read and raises ``TransientProviderError`` instead. A 401 is answered once with a token
    from ``tokens.refreshed``; a second 401, or a 403, is ``ProviderAuthError``.
    """

    reads_results = False

    def __init__(
        self,
        api_url: str,
        tokens: TokenSource,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._tokens = tokens
        self._client = build_client(
            connect_timeout=connect_timeout, read_timeout=read_timeout, transport=transport
        )

    async def place_callback(self, request: CallbackRequest) -> Submitted:
        """Send ``makeCall`` once (twice when the first token is refused with 401: a refused
        request did nothing). See ``read_make_call_answer`` for the errors."""
        body = build_make_call_params(request)
        response = await self._authorized("POST", MAKE_CALL_METHOD, body, idempotent=False)
        call_id = read_make_call_answer(response.status_code, response.text)
        logger.debug(
            "MTT Business call accepted: to=%s workplace=%s call_id=%s",
            mask_number(request.contact),
            request.agents[0],
            call_id,
        )
        return Submitted(call_id, response.text)

    async def workplaces(self) -> list[Workplace]:
        """The account's workplaces (``workplacesInfo``). Raises ``ProviderError``."""
        response = await self._authorized("GET", WORKPLACES_METHOD, None, idempotent=True)
        return read_workplaces_answer(response.status_code, response.text)

    async def missing_agents(self, agents: tuple[str, ...]) -> list[str]:
        """The agents that are not workplaces of the account (a pre-flight check)."""
        return missing_workplaces(agents, await self.workplaces())

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _authorized(
        self, method: str, name: str, body: object | None, *, idempotent: bool
    ) -> httpx.Response:
        token = await self._tokens.access_token()
        response = await self._send(method, name, body, token, idempotent=idempotent)
        if response.status_code == 401:
            # doc 7.6: an expired access token is answered 401; the request did nothing.
            token = await self._tokens.refreshed(token)
            response = await self._send(method, name, body, token, idempotent=idempotent)
            if response.status_code == 401:
                raise ProviderAuthError(
                    f"{name}: MTT Business refused a refreshed access token (HTTP 401)",
                    raw=response.text,
                    status_code=401,
                )
        raise_for_transport_status(response)
        return response

    async def _send(
        self, method: str, name: str, body: object | None, token: str, *, idempotent: bool
    ) -> httpx.Response:
        return await send(
            self._client,
            method,
            f"{self._api_url}/{name}",
            json_body=body,
            headers={"Authorization": f"Bearer {token}"},
            idempotent=idempotent,
        )


__all__ = [
    "MAKE_CALL_METHOD",
    "RATE_PER_SECOND",
    "WORKPLACES_METHOD",
    "MttBusinessClient",
    "StaticTokenSource",
    "TokenSource",
    "Workplace",
    "build_make_call_params",
    "missing_workplaces",
]
