"""MTT Telecom API (webapicommon): JSON-RPC 2.0 over one POST endpoint, Basic auth.

Read-only calls: the account balance (pre-flight check) and call history (reconciliation).
Answers are parsed with ``parse_float=Decimal`` so money never passes through binary floats;
the records themselves are parsed by the pure functions of ``telecom_records``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import httpx
from pydantic import SecretStr

from dialer.errors import ProviderAuthError, ProviderError, ProviderRefusedError
from dialer.providers.jsonrpc import JsonRpcEndpoint
from dialer.providers.telecom_records import (
    Balance,
    CallHistory,
    CallRecord,
    parse_balance_result,
    parse_call_history_result,
)

PERMISSION_DENIED = -32002
DATA_NOT_FOUND = -32001
INVALID_PARAMS = -32602
MAX_RECORD_COUNT = 1000
"""getServiceHistoryByCustomer returns at most this many records per call."""

HistoryType = Literal["incoming", "missed", "dialed", "forwarded"]
Order = Literal["asc", "desc"]


@dataclass(frozen=True, slots=True)
class RpcError:
    """A JSON-RPC ``error`` object; ``data`` is its detail as text (may be empty)."""

    code: int | None
    message: str
    data: str = ""


@dataclass(frozen=True, slots=True)
class RpcAnswer:
    """Exactly one of ``result`` and ``error`` is meaningful."""

    result: object = None
    error: RpcError | None = None


def parse_rpc_answer(body: str) -> RpcAnswer:
    """Split a JSON-RPC answer. Raises ``ProviderError`` when it is not a JSON-RPC object.

    The answer's ``id`` is not compared with the request's: the documentation itself answers
    ``"id": 1`` with ``"id": "1"``.
    """
    try:
        value: object = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ProviderError("Telecom API: answer is not JSON", raw=body) from exc
    if not isinstance(value, dict) or ("result" not in value and "error" not in value):
        raise ProviderError("Telecom API: answer is not JSON-RPC", raw=body)
    error = value.get("error")
    if error is None:
        return RpcAnswer(result=value.get("result"))
    if not isinstance(error, dict):
        return RpcAnswer(error=RpcError(code=None, message=str(error)))
    code = error.get("code")
    data = error.get("data")
    return RpcAnswer(
        error=RpcError(
            code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            message=str(error.get("message") or ""),
            data=""
            if data is None
            else data
            if isinstance(data, str)
            else json.dumps(data, default=str),
        )
    )


def format_call_history_time(moment: datetime) -> str:
    """getCallHistory's ``dd.mm.yyyy HH:MM:SS``, in UTC (the platform's documented zone)."""
    return _utc(moment).strftime("%d.%m.%Y %H:%M:%S")


def format_service_history_time(moment: datetime) -> str:
    """getServiceHistoryByCustomer's date, in UTC. The table says ``YYYY-MM-DD HH24:Mi-SS``;
    the example (``2017-09-14 16:01:05``) uses colons, which we follow."""
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S")


class TelecomClient:
    """The Telecom API over one pooled connection. Timeouts are in seconds.

    Every method raises ``ProviderAuthError`` for ``-32002 Permission denied`` or HTTP 401/403,
    ``ProviderRefusedError`` for other JSON-RPC errors (``-32602 Invalid params`` ...),
    ``TransientProviderError`` when the API is unreachable, the answer is lost, or on
    429/5xx, and a plain ``ProviderError`` for an answer it cannot read.
    """

    def __init__(
        self,
        url: str,
        login: str,
        password: SecretStr,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._endpoint = JsonRpcEndpoint(
            url,
            login,
            password,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            transport=transport,
        )

    async def get_customer_balance(self, customer_name: str) -> Balance:
        """The balance of the personal account ``customer_name``, in roubles.

        ``-32001 Data not found`` (unknown account) raises ``ProviderRefusedError``.
        """
        # The documented request passes the account positionally: ``"params": ["110000000"]``.
        answer = await self._call("getCustomerBalance", [customer_name])
        if answer.error is not None:
            raise _rpc_exception("getCustomerBalance", answer.error)
        return parse_balance_result(answer.result)

    async def get_call_history(
        self, sip_id: str, date_from: datetime, date_to: datetime
    ) -> CallHistory:
        """Calls of one number between two aware datetimes. No data (``-32001``, also the
        answer for an unknown sip_id) is an empty history."""
        params = {
            "sip_id": sip_id,
            "date_from": format_call_history_time(date_from),
            "date_to": format_call_history_time(date_to),
        }
        return await self._history("getCallHistory", params)

    async def get_service_history(
        self,
        customer_name: str,
        type: HistoryType,
        date_from: datetime,
        date_to: datetime,
        *,
        filter: str | None = None,
        order: Order = "desc",
        record_count: int = MAX_RECORD_COUNT,
    ) -> CallHistory:
        """Calls of one kind over the whole account, at most ``record_count`` (1-1000,
        ``ValueError`` otherwise). ``filter`` keeps calls whose cli or cld is that number."""
        if not 1 <= record_count <= MAX_RECORD_COUNT:
            raise ValueError(f"record_count must be 1-{MAX_RECORD_COUNT}, got {record_count}")
        params: dict[str, object] = {
            "type": type,
            "customer_name": customer_name,
            "date_from": format_service_history_time(date_from),
            "date_to": format_service_history_time(date_to),
            "order": order,
            "record_count": record_count,
        }
        if filter is not None:
            params["filter"] = filter
        return await self._history("getServiceHistoryByCustomer", params)

    async def aclose(self) -> None:
        await self._endpoint.aclose()

    async def _history(self, method: str, params: Mapping[str, object]) -> CallHistory:
        answer = await self._call(method, params)
        if answer.error is not None:
            if answer.error.code == DATA_NOT_FOUND:
                return CallHistory()
            raise _rpc_exception(method, answer.error)
        return parse_call_history_result(answer.result)

    async def _call(self, method: str, params: object) -> RpcAnswer:
        response = await self._endpoint.post(method, params, idempotent=True)
        try:
            return parse_rpc_answer(response.text)
        except ProviderError as exc:
            exc.status_code = response.status_code
            raise


def _rpc_exception(method: str, error: RpcError) -> ProviderError:
    text = f"{method}: {error.code} {error.message}".strip()
    if error.data:
        text = f"{text} ({error.data})"
    raw = json.dumps({"code": error.code, "message": error.message, "data": error.data})
    if error.code == PERMISSION_DENIED:
        return ProviderAuthError(text, raw=raw)
    return ProviderRefusedError(text, raw=raw)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("Telecom API dates must be timezone-aware")
    return moment.astimezone(UTC)


__all__ = [
    "Balance",
    "CallHistory",
    "CallRecord",
    "RpcAnswer",
    "RpcError",
    "TelecomClient",
    "parse_balance_result",
    "parse_call_history_result",
    "parse_rpc_answer",
]
