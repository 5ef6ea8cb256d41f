"""What every provider client shares: the pooled ``httpx.AsyncClient`` and the mapping of
transport failures and HTTP statuses onto ``dialer.errors``.

The one question each mapping answers is "may this request have reached the provider?":

* not sent (connection refused, connect or pool timeout) -> ``TransientProviderError``;
* sent, answer lost (read/write timeout, dropped connection) -> ``UnknownOutcomeError``, because
  a call may have been placed; idempotent reads map to ``TransientProviderError`` instead;
* HTTP 429 and 5xx -> ``TransientProviderError``, except 504: a gateway timeout means the
  upstream received the request and did not answer in time, so the call may have happened;
* HTTP 401/403 -> ``ProviderAuthError``.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import SecretStr

from dialer.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
    UnknownOutcomeError,
)

USER_AGENT = "dialer/0.1"
QueryParams = Mapping[str, str | int]

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


def build_client(
    *,
    login: str = "",
    password: SecretStr | None = None,
    connect_timeout: float,
    read_timeout: float,
    base_url: str = "",
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A pooled client, with Basic auth when ``password`` is given (else each request brings
    its own credentials). Timeouts are in seconds: ``connect_timeout`` bounds the TCP/TLS
    handshake and waiting for a pooled connection, ``read_timeout`` bounds sending the request
    and waiting for each chunk of the answer. Redirects are not followed."""
    timeout = httpx.Timeout(
        connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
    )
    auth = None if password is None else httpx.BasicAuth(login, password.get_secret_value())
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        timeout=timeout,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        transport=transport,
    )


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    json_body: object | None = None,
    form: Mapping[str, str] | None = None,
    params: QueryParams | None = None,
    headers: Mapping[str, str] | None = None,
    idempotent: bool = False,
) -> httpx.Response:
    """Send one request and return the answer, whatever its status. ``form`` is sent as an
    ``application/x-www-form-urlencoded`` body; ``headers`` are added to the client's.

    Raises ``TransientProviderError`` when the request surely did not reach the provider,
    ``UnknownOutcomeError`` when it may have (``TransientProviderError`` if ``idempotent``),
    and ``ProviderRefusedError(campaign_level=True)`` when the configured URL is unusable.
    """
    try:
        return await client.request(
            method, url, json=json_body, data=form, params=params, headers=headers
        )
    except _NOT_SENT as exc:
        raise TransientProviderError(f"provider not reached: {_describe(exc)}") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ProviderRefusedError(
            f"provider URL is unusable: {_describe(exc)}", campaign_level=True
        ) from exc
    except httpx.LocalProtocolError as exc:
        raise TransientProviderError(f"request not sent: {_describe(exc)}") from exc
    except (*_MAYBE_SENT, httpx.RequestError) as exc:
        # Every other failure happens after the first byte left: the provider may have acted.
        if idempotent:
            raise TransientProviderError(f"answer lost: {_describe(exc)}") from exc
        raise UnknownOutcomeError(f"sent, answer lost: {_describe(exc)}") from exc


def raise_for_transport_status(response: httpx.Response) -> None:
    """Raise for the statuses that mean the same on every MTT API (401/403, 429, 5xx).

    Other statuses return normally: each client reads their bodies itself.
    """
    status = response.status_code
    raw = response.text
    if status in (401, 403):
        raise ProviderAuthError(f"HTTP {status}: credentials refused", raw=raw, status_code=status)
    if status == 504:
        raise UnknownOutcomeError("HTTP 504: gateway timed out", raw=raw, status_code=status)
    if status == 429 or status >= 500:
        raise TransientProviderError(f"HTTP {status}", raw=raw, status_code=status)


def malformed_answer(what: str, response: httpx.Response) -> ProviderError:
    """The error for a read whose answer cannot be understood (not JSON, wrong shape)."""
    return ProviderError(
        f"{what}: malformed answer (HTTP {response.status_code})",
        raw=response.text,
        status_code=response.status_code,
    )


def mask_number(number: str) -> str:
    """One number-ish *value*, whatever its shape: ``79101234567`` -> ``7910*****67``; the
    first 4 and last 2 characters survive; 6 characters or fewer are masked completely.

    Use it for a value known to be a number (even a malformed one, which
    ``dialer.logs.mask_phone`` would not recognise inside free text)."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


def _describe(exc: Exception) -> str:
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}"[:200] if detail else type(exc).__name__
