"""Pure readers of the MTT CallBack API's answers: ``makeCallBackCallFollowme`` (the call id,
or the refusal inside ``result``) and ``getCallBackFollowmeCallInfo`` (the call's result, its
``-32001`` failures included). No I/O; ``mtt_callback`` sends the requests.

Doc quirks and what we do about them are listed in docs/design.md ("CallBack API").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from dialer.errors import (
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    UnknownOutcomeError,
)
from dialer.providers.loose_json import strip_trailing_commas
from dialer.providers.telecom import (
    DATA_NOT_FOUND,
    PERMISSION_DENIED,
    RpcAnswer,
    RpcError,
    parse_rpc_answer,
)

MAKE_CALL_METHOD = "makeCallBackCallFollowme"
CALL_INFO_METHOD = "getCallBackFollowmeCallInfo"
_JSON_RPC_CALLER_ERRORS = (-32600, -32601, -32602)
_AUTH_WORDS = ("forbidden", "permission", "denied", "unauthori", "auth")
_ID_KEY = re.compile(r'"callback_?call_id"\s*:\s*"([^"]+)"', re.IGNORECASE)
_ERROR_FLAG = re.compile(r'"error"\s*:\s*"?1"?')
_MESSAGE = re.compile(r'"message"\s*:\s*"([^"]*)"')
_ENDED = re.compile(r"ended by (\w+) on side ([AB])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CallbackSubmitted:
    """MTT accepted the callback; ``call_id`` is its ``callBackCall_id``."""

    call_id: str
    raw: str = ""


@dataclass(frozen=True, slots=True)
class CallbackCallInfo:
    """The result of one callback.

    Talked: ``status`` is MTT's ``call_back_status`` (``"ok"``), ``agent`` the agent number that
    answered, lengths in seconds, ``cost`` in ``currency``. Failed (the ``-32001`` answers):
    ``failure`` is MTT's text, ``ended_by`` (``timeout``/``cancel``) and ``failed_side``
    (``A`` = agents, ``B`` = contact) are read from it when it has the documented form.
    """

    status: str = ""
    agent: str | None = None
    contact: str | None = None
    agent_wait_seconds: int | None = None
    contact_wait_seconds: int | None = None
    agent_seconds: int | None = None
    contact_seconds: int | None = None
    agent_charged_seconds: int | None = None
    contact_charged_seconds: int | None = None
    cost: Decimal | None = None
    currency: str | None = None
    record_urls: tuple[str, ...] = ()
    description: str = ""
    failure: str | None = None
    ended_by: str | None = None
    failed_side: Literal["A", "B"] | None = None

    @property
    def talked(self) -> bool:
        """A conversation happened: no failure, and the contact's leg lasted."""
        return self.failure is None and (self.contact_seconds or 0) > 0

    @property
    def talk_seconds(self) -> int:
        """Seconds of conversation: the contact's leg (it starts when the agent is bridged)."""
        return self.contact_seconds or 0


def read_make_call_answer(status_code: int, body: str) -> CallbackSubmitted:
    """Turn the answer to ``makeCallBackCallFollowme`` into the call id, or raise.

    ``InvalidNumberError``: ``Incorrect B-number format``.
    ``ProviderRefusedError(campaign_level=True)``: ``Incorrect redirect_number format`` (an
    agent number), JSON-RPC ``Invalid params``/``Method not found``, HTTP 404/405.
    ``ProviderAuthError``: ``-32002 Permission denied`` or an in-``result`` error about access.
    ``ProviderRefusedError``: any other in-``result`` error or JSON-RPC error.
    ``UnknownOutcomeError``: a 2xx answer that is unreadable or has no id (a call may ring).
    Statuses 401/403/429/5xx are classified before this by ``raise_for_transport_status``.
    """
    answer = _read_rpc(body)
    if answer is None:
        salvaged = _salvage(body)
        if salvaged is not None:
            return _result_to_submission(salvaged, status_code, body)
        raise _unreadable(status_code, body)
    if answer.error is not None:
        raise _rpc_error(MAKE_CALL_METHOD, answer.error, body, status_code)
    if not isinstance(answer.result, dict):
        raise _unreadable(status_code, body)
    return _result_to_submission(answer.result, status_code, body)


def read_call_info_answer(status_code: int, body: str) -> CallbackCallInfo:
    """Turn the answer to ``getCallBackFollowmeCallInfo`` into a ``CallbackCallInfo``.

    ``-32001 Data not found`` is a result, not an error: its ``data`` says how the call
    failed. Other JSON-RPC errors raise as in ``read_make_call_answer``; an answer that
    cannot be read raises ``ProviderError``.
    """
    answer = _read_rpc(body)
    if answer is None:
        raise ProviderError(
            f"{CALL_INFO_METHOD}: unreadable answer (HTTP {status_code})",
            raw=body,
            status_code=status_code,
        )
    if answer.error is not None:
        if answer.error.code == DATA_NOT_FOUND:
            return _failure(answer.error)
        raise _rpc_error(CALL_INFO_METHOD, answer.error, body, status_code)
    result = answer.result
    if isinstance(result, dict) and "error" in result:
        raise _in_result_error(CALL_INFO_METHOD, result, body, status_code)
    info = result.get("callBackFollowmeCallInfoStruct") if isinstance(result, dict) else None
    # The table says "array of callBackFollowmeCallInfo"; the example holds one object.
    if isinstance(info, list):
        info = info[0] if info else None
    if not isinstance(info, dict):
        raise ProviderError(
            f"{CALL_INFO_METHOD}: no callBackFollowmeCallInfoStruct",
            raw=body,
            status_code=status_code,
        )
    return _call_info(info)


def _read_rpc(body: str) -> RpcAnswer | None:
    """The JSON-RPC answer, also with the doc's trailing commas; ``None`` if unreadable."""
    for text in (body, strip_trailing_commas(body)):
        try:
            return parse_rpc_answer(text)
        except ProviderError:
            continue
    return None


def _salvage(body: str) -> dict[str, object] | None:
    """The doc's failure example is not JSON (``"message": "..." - comment``, two messages, no
    comma). Read what it plainly says: an error flag and the first message, or an id."""
    if _ERROR_FLAG.search(body):
        message = _MESSAGE.search(body)
        return {"error": 1, "message": message.group(1) if message else ""}
    found = _ID_KEY.search(body)
    if found:
        return {"callBackCall_id": found.group(1)}
    return None


def _result_to_submission(
    result: dict[str, object], status_code: int, body: str
) -> CallbackSubmitted:
    if result.get("error") not in (None, 0, "0", False):
        raise _in_result_error(MAKE_CALL_METHOD, result, body, status_code)
    for key, value in result.items():
        # callBackCall_id in the tables, callbackCall_id in the make-call example.
        if key.lower() == "callbackcall_id" and isinstance(value, str | int) and str(value):
            return CallbackSubmitted(call_id=str(value), raw=body)
    raise UnknownOutcomeError(
        f"{MAKE_CALL_METHOD}: accepted without callBackCall_id", raw=body, status_code=status_code
    )


def _in_result_error(
    method: str, result: dict[str, object], body: str, status_code: int
) -> ProviderError:
    message = str(result.get("message") or result.get("error_description") or "error")
    text = f"{method}: {message}"
    lowered = message.lower()
    if "b-number" in lowered or "b_number" in lowered:
        return InvalidNumberError(text, raw=body, status_code=status_code)
    if "redirect_number" in lowered:
        return ProviderRefusedError(text, raw=body, status_code=status_code, campaign_level=True)
    if any(word in lowered for word in _AUTH_WORDS):
        return ProviderAuthError(text, raw=body, status_code=status_code)
    return ProviderRefusedError(text, raw=body, status_code=status_code)


def _rpc_error(method: str, error: RpcError, body: str, status_code: int) -> ProviderError:
    text = f"{method}: {error.code} {error.message}".strip()
    if error.data:
        text = f"{text} ({error.data})"
    if error.code == PERMISSION_DENIED:
        return ProviderAuthError(text, raw=body, status_code=status_code)
    # Our request is malformed or the method unknown: every request of the campaign fails alike.
    campaign_level = error.code in _JSON_RPC_CALLER_ERRORS
    return ProviderRefusedError(
        text, raw=body, status_code=status_code, campaign_level=campaign_level
    )


def _unreadable(status_code: int, body: str) -> ProviderError:
    if 200 <= status_code < 300:
        return UnknownOutcomeError(
            f"{MAKE_CALL_METHOD}: unreadable answer to an accepted request",
            raw=body,
            status_code=status_code,
        )
    return ProviderRefusedError(
        f"{MAKE_CALL_METHOD}: HTTP {status_code}",
        raw=body,
        status_code=status_code,
        campaign_level=status_code in (404, 405),
    )


def _failure(error: RpcError) -> CallbackCallInfo:
    text = error.data or error.message
    match = _ENDED.search(text)
    if match is None:
        return CallbackCallInfo(failure=text)
    side: Literal["A", "B"] = "A" if match.group(2).upper() == "A" else "B"
    return CallbackCallInfo(failure=text, ended_by=match.group(1).lower(), failed_side=side)


def _call_info(info: dict[str, object]) -> CallbackCallInfo:
    urls = tuple(
        url
        for key in ("call_back_record_URL_A", "call_back_record_URL_B")
        for url in _urls(info.get(key))
    )
    return CallbackCallInfo(
        status=_text(info.get("call_back_status")) or "",
        agent=_text(info.get("destination_A")),
        contact=_text(info.get("destination_B")),
        agent_wait_seconds=_seconds(info.get("waiting_period_A")),
        contact_wait_seconds=_seconds(info.get("waiting_period_B")),
        agent_seconds=_seconds(info.get("call_back_real_length_A")),
        contact_seconds=_seconds(info.get("call_back_real_length_B")),
        agent_charged_seconds=_seconds(info.get("call_back_charged_length_A")),
        contact_charged_seconds=_seconds(info.get("call_back_charged_length_B")),
        cost=_money(info.get("call_back_cost")),
        currency=_text(info.get("call_back_currency")),
        record_urls=urls,
        description=_text(info.get("callDescription")) or "",
    )


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return None


def _seconds(value: object) -> int | None:
    """Lengths arrive as strings (``"15"``); anything not a whole number is unknown."""
    text = _text(value)
    if text is None:
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return int(number) if number >= 0 and number == number.to_integral_value() else None


def _money(value: object) -> Decimal | None:
    text = _text(value)
    if text is None:
        return None
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _urls(value: object) -> list[str]:
    """The table says an array of URLs; the example holds ``{"downloadURL": ...}``."""
    items = value if isinstance(value, list) else [value]
    urls: list[str] = []
    for item in items:
        if isinstance(item, str) and item:
            urls.append(item)
        elif isinstance(item, dict) and isinstance(item.get("downloadURL"), str):
            urls.append(item["downloadURL"])
    return urls
