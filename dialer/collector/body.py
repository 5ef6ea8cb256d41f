"""Reading a webhook body without ever holding more than the size limit."""

from __future__ import annotations

import re

from starlette.requests import Request

_DIGITS = re.compile(r"[0-9]{1,20}")


async def read_limited_body(request: Request, limit: int) -> bytes | None:
    """The whole request body, or ``None`` as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading anything; a body
    without one (chunked) or with a lying one is counted while streaming and reading stops at
    the first chunk past the limit. Raises ``starlette.requests.ClientDisconnect`` when the
    client goes away mid-body.
    """
    declared = request.headers.get("content-length", "").strip()
    if _DIGITS.fullmatch(declared) and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
