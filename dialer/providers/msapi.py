"""MTT msapi (SMS): send messages, list the account's numbers and messages.

Every path is ``/v2/accounts/{account_sid}/...`` under ``base_url``; auth is Basic
``account_sid:token``. Answers are parsed leniently because the documented examples carry
trailing commas.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from dialer.errors import (
    InvalidNumberError,
    ProviderRefusedError,
    UnknownOutcomeError,
)
from dialer.providers.base import SmsProvider, SmsRequest, Submitted
from dialer.providers.http import (
    QueryParams,
    build_client,
    malformed_answer,
    mask_number,
    raise_for_transport_status,
    send,
)
from dialer.providers.loose_json import loads_lenient
from dialer.providers.msapi_models import MessagesPage, MsapiMessage, MsapiNumber, NumbersPage

logger = logging.getLogger(__name__)

PAGE_LIMIT = 20
"""msapi's largest (and default) page size."""

_SMS_NUMBER = re.compile(r"[0-9]{11,15}")
# "Invalid params: to ..." or "... 'from' ...": which parameter an error is about.
_PARAM_IN_ERROR = re.compile(
    r"""^\s*(?:invalid params:\s*)?["'`]?(to|from)\b|["'`](to|from)["'`]""", re.IGNORECASE
)
_PageT = TypeVar("_PageT", NumbersPage, MessagesPage)


def message_sid_from_uri(uri: str) -> str:
    """``/v2/accounts/acc.../messages/msg<uuid>`` -> ``msg<uuid>`` (empty if there is none)."""
    return uri.rstrip("/").rpartition("/")[2]


def classify_send_answer(status_code: int, body: str) -> Submitted:
    """Turn the answer to ``POST .../messages`` into ``Submitted(message_sid)`` or raise.

    2xx without a readable ``uri``: ``UnknownOutcomeError`` (the message may be queued).
    400 about ``to``: ``InvalidNumberError``; about ``from``: ``ProviderRefusedError`` with
    ``campaign_level=True``; any other 400: ``ProviderRefusedError``. Other 4xx (wrong account,
    wrong URL, no funds) refuse every message alike: ``campaign_level=True``.
    Statuses 401/403/429/5xx are classified before this by ``raise_for_transport_status``.
    """
    answer = _object_or_none(body)
    if 200 <= status_code < 300:
        uri = answer.get("uri") if answer else None
        message_sid = message_sid_from_uri(uri) if isinstance(uri, str) else ""
        if not message_sid:
            raise UnknownOutcomeError(
                "msapi: accepted without a message uri", raw=body, status_code=status_code
            )
        return Submitted(provider_id=message_sid, raw=body)
    error = answer.get("error") if answer else None
    text = f"msapi: {error}" if isinstance(error, str) else f"msapi: HTTP {status_code}"
    if status_code != 400 or not isinstance(error, str):
        raise ProviderRefusedError(
            text, raw=body, status_code=status_code, campaign_level=status_code != 400
        )
    match = _PARAM_IN_ERROR.search(error)
    parameter = (match.group(1) or match.group(2)).lower() if match else ""
    if parameter == "to":
        raise InvalidNumberError(text, raw=body, status_code=status_code)
    raise ProviderRefusedError(
        text, raw=body, status_code=status_code, campaign_level=parameter == "from"
    )


class MsapiClient(SmsProvider):
    """msapi over one pooled connection. Timeouts are in seconds.

    Reads (``list_*``, ``iter_*``, ``get_message``, ``out_numbers``) raise
    ``TransientProviderError`` when the provider is unreachable or the answer is lost,
    ``ProviderAuthError`` on 401/403, ``ProviderRefusedError`` on other 4xx, and a plain
    ``ProviderError`` when the answer cannot be read.
    """

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        token: SecretStr,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._account_path = f"/v2/accounts/{quote(account_sid, safe='')}"
        self._client = build_client(
            login=account_sid,
            password=token,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            base_url=base_url,
            transport=transport,
        )

    async def send_sms(self, request: SmsRequest) -> Submitted:
        """Send one message; ``tag`` carries the attempt id. See ``classify_send_answer``.

        Raises ``InvalidNumberError`` without a request when ``to`` is not 11-15 digits and
        ``ProviderRefusedError(campaign_level=True)`` when the sender is empty.
        """
        if not _SMS_NUMBER.fullmatch(request.to):
            raise InvalidNumberError(f"SMS recipient {mask_number(request.to)} is not a number")
        if not request.sender:
            raise ProviderRefusedError("SMS sender is empty", campaign_level=True)
        body = {
            "from": request.sender,
            "to": request.to,
            "text": request.text,
            "tag": str(request.attempt_id),
        }
        response = await send(
            self._client, "POST", f"{self._account_path}/messages", json_body=body
        )
        raise_for_transport_status(response)
        submitted = classify_send_answer(response.status_code, response.text)
        logger.debug(
            "msapi message accepted: attempt=%s to=%s sid=%s",
            request.attempt_id,
            mask_number(request.to),
            submitted.provider_id,
        )
        return submitted

    async def list_numbers(self, limit: int = PAGE_LIMIT, offset: int = 0) -> NumbersPage:
        """One page of the account's numbers. ``limit`` is 1-20 (``ValueError`` otherwise)."""
        params = {"limit": _checked_limit(limit), "offset": offset}
        return await self._get(f"{self._account_path}/numbers", params, NumbersPage)

    async def iter_numbers(self) -> AsyncIterator[MsapiNumber]:
        """Every number of the account, fetched page by page."""
        offset = 0
        while True:
            page = await self.list_numbers(limit=PAGE_LIMIT, offset=offset)
            for number in page.numbers:
                yield number
            offset += len(page.numbers)
            if len(page.numbers) < PAGE_LIMIT or offset >= page.total:
                return

    async def out_numbers(self) -> set[str]:
        """The numbers allowed to send SMS (``direction`` ``OUT``)."""
        return {n.number async for n in self.iter_numbers() if n.direction.upper() == "OUT"}

    async def list_messages(
        self,
        *,
        limit: int = PAGE_LIMIT,
        offset: int = 0,
        message_sid: str | None = None,
        number: str | None = None,
        external_number: str | None = None,
        number_sid: str | None = None,
        direction: str | None = None,
        status: str | None = None,
    ) -> MessagesPage:
        """One page of messages, filtered by the given fields (``None``: no filter).
        ``limit`` is 1-20 (``ValueError`` otherwise)."""
        filters = {
            "message_sid": message_sid,
            "number": number,
            "external_number": external_number,
            "number_sid": number_sid,
            "direction": direction,
            "status": status,
        }
        params: dict[str, str | int] = {"limit": _checked_limit(limit), "offset": offset}
        params.update({key: value for key, value in filters.items() if value is not None})
        return await self._get(f"{self._account_path}/messages", params, MessagesPage)

    async def iter_messages(
        self,
        *,
        message_sid: str | None = None,
        number: str | None = None,
        external_number: str | None = None,
        number_sid: str | None = None,
        direction: str | None = None,
        status: str | None = None,
    ) -> AsyncIterator[MsapiMessage]:
        """Every message matching the filters, fetched page by page."""
        offset = 0
        while True:
            page = await self.list_messages(
                limit=PAGE_LIMIT,
                offset=offset,
                message_sid=message_sid,
                number=number,
                external_number=external_number,
                number_sid=number_sid,
                direction=direction,
                status=status,
            )
            for message in page.messages:
                yield message
            offset += len(page.messages)
            if len(page.messages) < PAGE_LIMIT or offset >= page.total:
                return

    async def get_message(self, message_sid: str) -> MessagesPage:
        """One message, in msapi's page shape (``messages`` holds it)."""
        path = f"{self._account_path}/messages/{quote(message_sid, safe='')}"
        return await self._get(path, {}, MessagesPage)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: QueryParams, model: type[_PageT]) -> _PageT:
        response = await send(self._client, "GET", path, params=params, idempotent=True)
        raise_for_transport_status(response)
        if not 200 <= response.status_code < 300:
            raise ProviderRefusedError(
                f"msapi: HTTP {response.status_code} for {model.__name__}",
                raw=response.text,
                status_code=response.status_code,
            )
        try:
            return model.model_validate(loads_lenient(response.text))
        except (ValueError, ValidationError) as exc:
            raise malformed_answer(f"msapi {model.__name__}", response) from exc


def _checked_limit(limit: int) -> int:
    if not 1 <= limit <= PAGE_LIMIT:
        raise ValueError(f"msapi limit must be 1-{PAGE_LIMIT}, got {limit}")
    return limit


def _object_or_none(body: str) -> dict[str, object] | None:
    try:
        value = loads_lenient(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


__all__ = [
    "PAGE_LIMIT",
    "MessagesPage",
    "MsapiClient",
    "MsapiMessage",
    "MsapiNumber",
    "NumbersPage",
    "classify_send_answer",
    "message_sid_from_uri",
]
