"""Size and time limits on request bodies, for every route.

Uploads (``/contacts``, ``/dnc/import`` and the console's upload forms) may be as large as
``DIALER_MAX_UPLOAD_BYTES``; every other body as ``FORM_BYTES``. A body whose next piece takes
longer than ``PIECE_SECONDS`` to arrive is answered 408: a client cannot hold a worker open
by sending slowly.
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_BYTES = 1024 * 1024
PIECE_SECONDS = 30.0
UPLOAD_SUFFIXES = ("/contacts", "/dnc/import", "/upload")


class BodyTooLargeError(Exception):
    pass


class BodyLimits:
    """ASGI middleware enforcing the limits above."""

    def __init__(self, app: ASGIApp, upload_bytes: int) -> None:
        self.app = app
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.upload_bytes if path.endswith(UPLOAD_SUFFIXES) else FORM_BYTES
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit + 64 * 1024:
            await _refuse(scope, receive, send, 413, limit)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            try:
                message = await asyncio.wait_for(receive(), PIECE_SECONDS)
            except TimeoutError:
                raise BodyTooLargeError("slow") from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit + 64 * 1024:
                    raise BodyTooLargeError("large")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except BodyTooLargeError as exc:
            if started:
                raise
            code = 408 if str(exc) == "slow" else 413
            await _refuse(scope, receive, send, code, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, code: int, limit: int) -> None:
    detail = (
        f"request body larger than {limit} bytes (DIALER_MAX_UPLOAD_BYTES for uploads)"
        if code == 413
        else f"request body too slow: nothing arrived for {PIECE_SECONDS:g} s"
    )
    await JSONResponse({"detail": detail}, status_code=code, headers={"Connection": "close"})(
        scope, receive, send
    )
