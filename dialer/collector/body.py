"""Reading a webhook body: never more than the size limit, never longer than the read
timeout, and only so many slow bodies at once.

A slow sender (a body trickling in byte by byte) holds a connection and a request slot for as
long as it likes unless something stops it. Bodies that arrive within ``SLOW_AFTER_SECONDS``
(nearly all: MTT sends a few hundred bytes at once) are read freely; a body still arriving by
then needs one of ``max_slow`` slots, and without a free one the request is answered 503 at
once (MTT delivers again later). No body may take longer than the read timeout (408).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

_DIGITS = re.compile(r"[0-9]{1,20}")

SLOW_AFTER_SECONDS = 0.5
"""A body not complete this long after its headers is a slow body, in seconds."""


class BodyTimeoutError(Exception):
    """The body did not arrive within the read timeout."""


class TooManySlowBodiesError(Exception):
    """Every slow-body slot is taken; the request is refused without reading on."""


@dataclass
class _Body:
    """A body being read; survives a cancelled ``receive`` (nothing is lost mid-message)."""

    limit: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    too_large: bool = False

    async def read(self, receive: Callable[[], Awaitable[Message]]) -> None:
        """Read until the body ends or passes ``limit``. Raises ``ClientDisconnect``."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk: bytes = message.get("body", b"")
            self.size += len(chunk)
            if self.size > self.limit:
                self.too_large = True
                return
            if chunk:
                self.chunks.append(chunk)
            if not message.get("more_body", False):
                return

    def result(self) -> bytes | None:
        return None if self.too_large else b"".join(self.chunks)


def _declared_too_large(request: Request, limit: int) -> bool:
    declared = request.headers.get("content-length", "").strip()
    return bool(_DIGITS.fullmatch(declared)) and int(declared) > limit


async def read_limited_body(request: Request, limit: int) -> bytes | None:
    """The whole request body, or ``None`` as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading anything; a body
    without one (chunked) or with a lying one is counted while streaming and reading stops at
    the first chunk past the limit. Raises ``starlette.requests.ClientDisconnect`` when the
    client goes away mid-body. No timeout: see ``BodyReader``.
    """
    if _declared_too_large(request, limit):
        return None
    body = _Body(limit)
    await body.read(request.receive)
    return body.result()


@dataclass
class BodyReader:
    """``read_limited_body`` with a read timeout and a cap on slow bodies, for one app.

    ``timeout_seconds``: longest a body may take to arrive; ``max_slow``: bodies still
    arriving after ``SLOW_AFTER_SECONDS`` that may be read at once. Used from the event loop
    only (the slot count needs no lock).
    """

    timeout_seconds: float
    max_slow: int
    slow_in_progress: int = field(default=0, init=False)

    async def read(self, request: Request, limit: int) -> bytes | None:
        """The body, or ``None`` when over ``limit``. Raises ``BodyTimeoutError``,
        ``TooManySlowBodiesError`` or ``ClientDisconnect``."""
        if _declared_too_large(request, limit):
            return None
        body = _Body(limit)
        grace = min(SLOW_AFTER_SECONDS, self.timeout_seconds)
        with anyio.move_on_after(grace):
            await body.read(request.receive)
            return body.result()
        if self.slow_in_progress >= self.max_slow:
            raise TooManySlowBodiesError()
        self.slow_in_progress += 1
        try:
            with anyio.move_on_after(self.timeout_seconds - grace):
                await body.read(request.receive)
                return body.result()
            raise BodyTimeoutError()
        finally:
            self.slow_in_progress -= 1
