"""MTT sb-api: informer (TTS) and ``ivr-api`` calls, ``POST {"method": ..., "data": {...}}``.

The request is built and the answer classified by pure functions (``build_call_payload``,
``classify_call_answer``); ``MttSbClient`` only adds the HTTP round trip.
"""

from __future__ import annotations

import json
import logging
import re

import httpx
from pydantic import SecretStr

from dialer.errors import (
    InvalidNumberError,
    ProviderAuthError,
    ProviderRefusedError,
    UnknownOutcomeError,
)
from dialer.providers.base import CallProvider, CallRequest, MenuOption, Submitted
from dialer.providers.http import build_client, mask_number, raise_for_transport_status, send
from dialer.providers.loose_json import parse_loose

logger = logging.getLogger(__name__)

IVR_METHOD = "ivr-api"
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
_FORBIDDEN_ERROR = re.compile(r'"error"\s*:\s*"Forbidden"', re.IGNORECASE)
# Refusals that every request of the campaign would get: the caller id, a notify URL, or a
# request body we build wrongly.
_CAMPAIGN_LEVEL_ERRORS = ('"a_number"', '"notify" value is not allowed', '"messId"')


def build_call_payload(
    request: CallRequest, *, sip_id: str, informer_method: str, allow_http_notify: bool = False
) -> dict[str, object]:
    """The JSON body for one call; fields that are ``None`` are omitted.

    Raises ``InvalidNumberError`` when ``request.to`` is not 11 digits and
    ``ProviderRefusedError(campaign_level=True)`` for a bad caller id, menu or configuration,
    exactly where sb-api itself would refuse, so no request is made for them.
    """
    if not _ELEVEN_DIGITS.fullmatch(request.to):
        raise InvalidNumberError(f"b_number {mask_number(request.to)} is not 11 digits")
    ivr = bool(request.menu)
    # The informer table makes a_number optional (default: sip_id); ivr-api requires it.
    if (ivr or request.caller_id) and not _ELEVEN_DIGITS.fullmatch(request.caller_id):
        raise ProviderRefusedError("a_number (caller id) is not 11 digits", campaign_level=True)
    method = IVR_METHOD if ivr else informer_method
    if not method or not sip_id:
        raise ProviderAuthError("sb-api informer method or sip_id is not configured")

    # Language-key quirk: both parameter tables say ``langCode``, the only request example
    # that sets a language (ivr-api) sends ``lang_code``. The informer follows its table, which
    # nothing contradicts; ivr-api follows its example.
    language_key = "lang_code" if ivr else "langCode"
    fields: dict[str, object | None] = {
        "messId": str(request.attempt_id),
        "sip_id": sip_id,
        "b_number": request.to,
        "a_number": request.caller_id or None,
        "messText": request.text,
        language_key: request.language,
        "voice_name": request.voice,
        "emotion": request.emotion,
        "speed_speech": request.speed,
    }
    data = {key: value for key, value in fields.items() if value is not None}
    if ivr:
        # The ivr-api table lists ``dtmf`` beside ``data``; its example nests it inside
        # ``data``, with ``dtmf_id`` as a string. We follow the example.
        data["dtmf"] = [_menu_entry(option, allow_http_notify) for option in request.menu]
    return {"method": method, "data": data}


def classify_call_answer(status_code: int, body: str) -> Submitted:
    """Turn sb-api's answer into ``Submitted(CallID)`` or raise the matching error.

    ``UnknownOutcomeError``: a 2xx answer we cannot read, or success without a CallID.
    ``InvalidNumberError``: ``"b_number" should be in e164 format``.
    ``ProviderRefusedError(campaign_level=True)``: a_number, notify URL or messId errors.
    ``ProviderAuthError``: ``access forbidden`` (wrong method) or ``Forbidden`` (wrong sip_id),
    including the documented double-braced, invalid-JSON form of the latter.
    ``ProviderRefusedError``: any other ``success: 0`` or 4xx answer.
    Statuses 401/403/429/5xx are classified before this by ``raise_for_transport_status``.
    """
    answer = _parse_answer(body)
    if answer is None:
        if _FORBIDDEN_ERROR.search(body):
            raise ProviderAuthError(
                "sb-api: Forbidden (wrong sip_id)", raw=body, status_code=status_code
            )
        raise _unreadable(status_code, body)

    result = answer.get("result")
    if not isinstance(result, dict):
        message = answer.get("message")
        if isinstance(message, str) and "forbidden" in message.lower():
            raise ProviderAuthError(
                f"sb-api: {message} (wrong method)", raw=body, status_code=status_code
            )
        raise _unreadable(status_code, body)

    success = result.get("success")
    if success in (1, "1", True):
        call_id = answer.get("CallID")
        if isinstance(call_id, str) and call_id:
            return Submitted(provider_id=call_id, raw=body)
        raise UnknownOutcomeError(
            "sb-api: success without CallID", raw=body, status_code=status_code
        )
    if success in (0, "0", False) or "error" in result:
        raise _refusal(str(result.get("error") or "success 0"), body, status_code)
    raise _unreadable(status_code, body)


class MttSbClient(CallProvider):
    """sb-api over one pooled connection. Timeouts are in seconds. ``allow_http_notify``
    lets IVR notify URLs be plain http (the sandbox simulator); MTT itself wants https."""

    def __init__(
        self,
        url: str,
        login: str,
        password: SecretStr,
        sip_id: str,
        informer_method: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_http_notify: bool = False,
    ) -> None:
        self._url = url
        self._sip_id = sip_id
        self._informer_method = informer_method
        self._allow_http_notify = allow_http_notify
        self._client = build_client(
            login=login,
            password=password,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            transport=transport,
        )

    async def place_call(self, request: CallRequest) -> Submitted:
        """Send the call once; see ``build_call_payload`` and ``classify_call_answer`` for
        the errors. Transport failures: ``TransientProviderError`` (not sent) or
        ``UnknownOutcomeError`` (sent, answer lost: the call may be ringing)."""
        payload = build_call_payload(
            request,
            sip_id=self._sip_id,
            informer_method=self._informer_method,
            allow_http_notify=self._allow_http_notify,
        )
        response = await send(self._client, "POST", self._url, json_body=payload)
        raise_for_transport_status(response)
        submitted = classify_call_answer(response.status_code, response.text)
        logger.debug(
            "sb-api call accepted: attempt=%s to=%s call_id=%s",
            request.attempt_id,
            mask_number(request.to),
            submitted.provider_id,
        )
        return submitted

    async def aclose(self) -> None:
        await self._client.aclose()


def _menu_entry(option: MenuOption, allow_http_notify: bool) -> dict[str, str]:
    if not 1 <= option.digit <= 9:
        raise ProviderRefusedError(f"menu digit {option.digit} is not 1-9", campaign_level=True)
    schemes = ("https://", "http://") if allow_http_notify else ("https://",)
    if option.type == "notify" and not option.value.startswith(schemes):
        raise ProviderRefusedError("a notify menu value must be an https URL", campaign_level=True)
    if option.type == "transfer" and not _ELEVEN_DIGITS.fullmatch(option.value):
        raise ProviderRefusedError("a transfer number must be 11 digits", campaign_level=True)
    return {"dtmf_id": str(option.digit), "type": option.type, "value": option.value}


def _parse_answer(body: str) -> dict[str, object] | None:
    """The answer as an object, also when it is wrapped in an extra pair of braces."""
    try:
        value: object = json.loads(body)
    except (ValueError, RecursionError):
        try:
            values = parse_loose(body)
        except ValueError:
            return None
        value = values[0] if len(values) == 1 else None
    return value if isinstance(value, dict) else None


def _refusal(error: str, body: str, status_code: int) -> Exception:
    text = f"sb-api: {error}"
    if '"b_number"' in error:
        return InvalidNumberError(text, raw=body, status_code=status_code)
    if error.strip().lower() == "forbidden":
        return ProviderAuthError(f"{text} (wrong sip_id)", raw=body, status_code=status_code)
    campaign_level = any(marker in error for marker in _CAMPAIGN_LEVEL_ERRORS)
    return ProviderRefusedError(
        text, raw=body, status_code=status_code, campaign_level=campaign_level
    )


def _unreadable(status_code: int, body: str) -> Exception:
    if 200 <= status_code < 300:
        return UnknownOutcomeError(
            "sb-api: unreadable answer to an accepted request", raw=body, status_code=status_code
        )
    # A 404/405 means the URL is wrong: every request of the campaign would fail alike.
    return ProviderRefusedError(
        f"sb-api: HTTP {status_code}",
        raw=body,
        status_code=status_code,
        campaign_level=status_code in (404, 405),
    )
