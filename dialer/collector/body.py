"""Reading a webhook body: never more than the size limit, never longer than the read
timeout, and only so many slow bodies at once.

A slow sender (a body trickling in byte by byte) holds a connection for as long as it likes
unless something stops it. Bodies that arrive within ``SLOW_AFTER_SECONDS`` (nearly all: MTT
sends a few hundred bytes at once) are read freely and never wait for, or are refused for
want of, a slot; a body still arriving by then needs one of the ``BodyReadSlots``, and
without a free one the request is answered 503 at once (MTT delivers it again). No body may
take longer than the read timeout (408).
"""

from __future__ import annotations

import math
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


class NoBodySlotError(Exception):
    """A slow body found every slot taken; the request is refused without reading on."""


class BodyReadSlots:
    """How many slow webhook bodies may be read at once. Used from the event loop only (no
    lock). Past ``limit`` a slow request is answered 503 at once instead of joining them, so
    slow senders cannot hold every connection uvicorn allows."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0

    def try_acquire(self) -> bool:
        if self.in_use >= self.limit:
            return False
        self.in_use += 1
        return True

    def release(self) -> None:
        self.in_use -= 1


@dataclass
class _Body:
    """A body being read; survives a cancelled ``receive`` (uvicorn loses nothing when the
    wait for the next message is cancelled), so reading can stop and go on."""

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


async def read_limited_body(
    request: Request,
    limit: int,
    *,
    timeout: float = math.inf,
    slots: BodyReadSlots | None = None,
) -> bytes | None:
    """The whole request body, or ``None`` as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading anything; a body
    without one (chunked) or with a lying one is counted while streaming and reading stops at
    the first chunk past the limit. A body still arriving after ``SLOW_AFTER_SECONDS`` needs
    one of ``slots`` (if given) for the rest of its read. Raises ``ClientDisconnect`` when the
    client goes away mid-body, ``NoBodySlotError`` when a slow body finds no free slot and
    ``BodyTimeoutError`` when the whole body takes longer than ``timeout`` seconds.
    """
    if _declared_too_large(request, limit):
        return None
    body = _Body(limit)
    grace = min(SLOW_AFTER_SECONDS, timeout)
    with anyio.move_on_after(grace):
        await body.read(request.receive)
        return body.result()
    if slots is not None and not slots.try_acquire():
        raise NoBodySlotError()
    try:
        with anyio.move_on_after(timeout - grace):
            await body.read(request.receive)
            return body.result()
        raise BodyTimeoutError()
    finally:
        if slots is not None:
            slots.release()
