"""One JSON-RPC 2.0 endpoint over a pooled, Basic-auth client: MTT's webapicommon, shared by
the Telecom API and the CallBack API clients.

It only sends: the caller reads the answer (each API puts its errors in a different place).
Answers' ids are never compared with ours: MTT's docs show them as numbers and as strings.
"""

from __future__ import annotations

import itertools

import httpx
from pydantic import SecretStr

from dialer.providers.http import build_client, raise_for_transport_status, send


class JsonRpcEndpoint:
    """``post(method, params)`` to ``url``; ids count up from 1, sent as text when
    ``text_ids`` (as the CallBack doc writes them) and as numbers otherwise. Timeouts are in
    seconds. Transport failures raise as ``dialer.providers.http.send`` does."""

    def __init__(
        self,
        url: str,
        login: str,
        password: SecretStr,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        text_ids: bool = False,
    ) -> None:
        self._url = url
        self._ids = itertools.count(1)
        self._text_ids = text_ids
        self._client = build_client(
            login=login,
            password=password,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            transport=transport,
        )

    async def post(self, method: str, params: object, *, idempotent: bool) -> httpx.Response:
        """Send one request; raise for a transport failure or 401/403/429/5xx."""
        number = next(self._ids)
        request = {
            "jsonrpc": "2.0",
            "id": str(number) if self._text_ids else number,
            "method": method,
            "params": params,
        }
        response = await send(
            self._client, "POST", self._url, json_body=request, idempotent=idempotent
        )
        raise_for_transport_status(response)
        return response

    async def aclose(self) -> None:
        await self._client.aclose()
