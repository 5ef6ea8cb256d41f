"""MTT CallBack API on the webapicommon JSON-RPC endpoint (Basic auth): ring our agents (side
A), whisper who is calling, then call the contact (side B) and bridge the two.

Two methods: ``makeCallBackCallFollowme`` (place one callback, the dial structure inline) and
``getCallBackFollowmeCallInfo`` (its result). Requests are built by pure functions here
(``build_make_call_params``, ``build_call_info_params``), answers read by the pure functions
of ``mtt_callback_answers``; ``MttCallbackClient`` only adds the HTTP round trip, on the
plumbing of ``telecom`` and ``http``.

Doc quirks and what we do about them are listed in docs/design.md ("CallBack API").
"""

from __future__ import annotations

import logging
import re

import httpx
from pydantic import SecretStr

from dialer.errors import ProviderRefusedError
from dialer.providers.base import Submitted
from dialer.providers.callback_base import CallbackClient, CallbackRequest, RingMode
from dialer.providers.http import mask_number
from dialer.providers.jsonrpc import JsonRpcEndpoint
from dialer.providers.mtt_callback_answers import (
    CALL_INFO_METHOD,
    MAKE_CALL_METHOD,
    CallbackCallInfo,
    CallbackSubmitted,
    read_call_info_answer,
    read_make_call_answer,
)

logger = logging.getLogger(__name__)

RING_TYPES: dict[RingMode, str] = {"all": "ringall", "sequence": "linerall"}
"""The dial item ``type`` per ring mode. The doc's example writes ``"ringall"``; its table
``Ringall``/``Linerall`` and setCallBackFollowme's ``Lineral``: we follow the example's case."""
MIN_AGENT_TIMEOUT = 15
"""Seconds; the doc recommends at least 15 for a dial item's ``timeout``."""
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def callback_url_for_mtt(url: str) -> str:
    """``https://hooks.example.com/h/T/mtt/callback/event.php`` ->
    ``hooks.example.com/h/T/mtt/callback``: MTT wants the URL "strictly without http/www" and
    appends ``event.php`` itself. A host starting with ``www.`` cannot be sent faithfully, so
    it is refused (``ProviderRefusedError``, campaign level) rather than silently changed."""
    bare = _SCHEME.sub("", url.strip()).rstrip("/")
    if bare.lower().endswith("/event.php"):
        bare = bare[: -len("/event.php")]
    if not bare or bare[0] == "/":
        raise ProviderRefusedError("callBackURL has no host", campaign_level=True)
    if bare.lower().startswith("www."):
        raise ProviderRefusedError(
            "callBackURL must not start with www. (MTT: strictly without http/www)",
            campaign_level=True,
        )
    return bare


def build_make_call_params(request: CallbackRequest, *, customer_name: str) -> dict[str, object]:
    """The ``params`` of ``makeCallBackCallFollowme``; ``ValueError`` for a request that no
    campaign file should produce (no agents, an agent timeout or max talk below 1 s)."""
    if not request.agents:
        raise ValueError("a callback needs at least one agent")
    if request.agent_timeout < 1:
        raise ValueError(f"agent_timeout must be >= 1 s, got {request.agent_timeout}")
    if request.max_talk is not None and request.max_talk < 1:
        raise ValueError(f"max_talk must be >= 1 s (or unset), got {request.max_talk}")
    ring_type = RING_TYPES[request.ring]
    items: list[dict[str, object]] = [
        {
            "order": order,
            "timeout": request.agent_timeout,
            "redirect_number": agent,
            "type": ring_type,
        }
        for order, agent in enumerate(request.agents, start=1)
    ]
    items.append({"order": len(items) + 1, "type": "text", "value": request.whisper, "side": "A"})
    if request.contact_message:
        items.append(
            {
                "order": len(items) + 1,
                "type": "text",
                "value": request.contact_message,
                "side": "B",
            }
        )
    params: dict[str, object] = {
        "customer_name": customer_name,
        "b_number": request.contact,
        "callBackURL": callback_url_for_mtt(request.callback_url),
        # Recording defaults to on at MTT: always say what we want.
        "recordEnable": 1 if request.record else 0,
        "simpleCallBackFollowmeStruct": items,
    }
    if request.caller_id:
        params["caller_id"] = request.caller_id
    if request.max_talk is not None:
        params["maxtime"] = str(request.max_talk)
    if request.description:
        params["callDescription"] = request.description
    return params


def build_call_info_params(call_id: str, *, customer_name: str) -> dict[str, object]:
    """The ``params`` of ``getCallBackFollowmeCallInfo``."""
    return {"customer_name": customer_name, "callBackCall_id": call_id}


class MttCallbackClient(CallbackClient):
    """The CallBack API over one pooled connection. Timeouts are in seconds.

    ``customer_name`` is the CallBack account MTT issues, not the balance check's account.
    Transport failures map as in ``dialer.providers.http``: placing a callback whose answer
    is lost raises ``UnknownOutcomeError`` (the agents may be ringing); reading call info is
    idempotent and raises ``TransientProviderError`` instead.
    """

    def __init__(
        self,
        url: str,
        login: str,
        password: SecretStr,
        customer_name: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._customer_name = customer_name
        self._endpoint = JsonRpcEndpoint(
            url,
            login,
            password,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            transport=transport,
            text_ids=True,  # the doc writes ids as strings
        )

    async def make_call(self, request: CallbackRequest) -> CallbackSubmitted:
        """Place the callback once; see ``read_make_call_answer`` for the errors."""
        params = build_make_call_params(request, customer_name=self._customer_name)
        response = await self._endpoint.post(MAKE_CALL_METHOD, params, idempotent=False)
        submitted = read_make_call_answer(response.status_code, response.text)
        logger.debug(
            "callback accepted: to=%s agents=%d call_id=%s",
            mask_number(request.contact),
            len(request.agents),
            submitted.call_id,
        )
        return submitted

    reads_results = True

    async def place_callback(self, request: CallbackRequest) -> Submitted:
        submitted = await self.make_call(request)
        return Submitted(submitted.call_id, submitted.raw)

    async def callback_result(self, call_id: str) -> CallbackCallInfo:
        return await self.get_call_info(call_id)

    async def get_call_info(self, call_id: str) -> CallbackCallInfo:
        """The result of the callback ``call_id``; see ``read_call_info_answer``."""
        params = build_call_info_params(call_id, customer_name=self._customer_name)
        response = await self._endpoint.post(CALL_INFO_METHOD, params, idempotent=True)
        return read_call_info_answer(response.status_code, response.text)

    async def aclose(self) -> None:
        await self._endpoint.aclose()


__all__ = [
    "CALL_INFO_METHOD",
    "MAKE_CALL_METHOD",
    "RING_TYPES",
    "CallbackCallInfo",
    "CallbackRequest",
    "CallbackSubmitted",
    "MttCallbackClient",
    "RingMode",
    "build_call_info_params",
    "build_make_call_params",
    "callback_url_for_mtt",
    "read_call_info_answer",
    "read_make_call_answer",
]
