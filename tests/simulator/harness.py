"""Helpers that drive the simulator in-process (ASGI transport, webhooks captured by an
``httpx.MockTransport``) or over real HTTP (uvicorn in a background thread)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dialer.simulator import SimulatorConfig, create_app, simulator_of_app
from dialer.simulator.state import Simulator

SIP_ID = "74996480000"
SB_AUTH = ("sim-login", "sim-password")
ACCOUNT = "acc00000000-0000-4000-8000-000000000000"
MSAPI_AUTH = (ACCOUNT, "sim-token")
OUT_NUMBER = "79587625012"
CALL_HOOK = "https://collector.test/hooks/t/mtt/call"
SMS_HOOK = "https://collector.test/hooks/t/mtt/sms"
NOTIFY_URL = "https://collector.test/hooks/t/mtt/ivr"
MESSAGES = f"/v2/accounts/{ACCOUNT}/messages"


def make_config(**changes: Any) -> SimulatorConfig:
    """A fast, seeded config with both webhooks set; ``changes`` override fields."""
    fields: dict[str, Any] = {
        "speed": 1000.0,
        "seed": 7,
        "call_webhook_url": CALL_HOOK,
        "sms_webhook_url": SMS_HOOK,
    }
    fields.update(changes)
    return SimulatorConfig.model_validate(fields)


def informer(b_number: Any = "79103880489", mess_id: str = "1255490", **data: Any) -> Any:
    return {
        "method": "informer",
        "data": {
            "messId": mess_id,
            "sip_id": SIP_ID,
            "b_number": b_number,
            "messText": "Информационное сообщение для Вас",
            **data,
        },
    }


def ivr(
    b_number: str = "79103880489", mess_id: str = "12345678", menu: Any = None, **data: Any
) -> Any:
    default_menu = [
        {"dtmf_id": "1", "type": "notify", "value": NOTIFY_URL},
        {"dtmf_id": "2", "type": "notify", "value": NOTIFY_URL + "/2"},
        {"dtmf_id": "3", "type": "transfer", "value": "74997090111"},
    ]
    body = informer(b_number, mess_id, **{"a_number": SIP_ID, **data})
    body["method"] = "ivr-api"
    body["data"]["dtmf"] = default_menu if menu is None else menu
    return body


@dataclass
class Hook:
    """One webhook request the simulator sent."""

    method: str
    url: str
    content_type: str
    body: str

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body or httpx.URL(self.url).query.decode()))


@dataclass
class Receiver:
    """A fake collector for ``httpx.MockTransport``; ``statuses`` answers the first requests
    with the given codes (then 200)."""

    statuses: list[int] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    attempts: int = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.statuses:
            status = self.statuses.pop(0)
            if status == 0:
                raise httpx.ConnectError("connection refused", request=request)
            if status >= 400:
                return httpx.Response(status)
        self.hooks.append(
            Hook(
                request.method,
                str(request.url),
                request.headers.get("content-type", ""),
                request.content.decode(),
            )
        )
        return httpx.Response(200)


@dataclass
class Harness:
    client: httpx.AsyncClient
    receiver: Receiver
    sim: Simulator

    async def sb(self, body: Any, auth: tuple[str, str] = SB_AUTH) -> httpx.Response:
        return await self.client.post("/v1/sb", json=body, auth=auth)

    async def sms(self, **body: Any) -> httpx.Response:
        return await self.client.post(MESSAGES, json=body, auth=MSAPI_AUTH)

    async def stats(self) -> Any:
        return (await self.client.get("/_sim/stats")).json()

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every scheduled event has been delivered."""
        await wait_until(lambda: self.sim.pending_tasks == 0, timeout)


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


def run_sim(
    config: SimulatorConfig,
    scenario: Callable[[Harness], Awaitable[None]],
    receiver: Receiver | None = None,
) -> None:
    """Run ``scenario`` against an in-process simulator (lifespan included)."""
    hooks = receiver or Receiver()

    async def main() -> None:
        app = create_app(config, webhook_transport=httpx.MockTransport(hooks.handle))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://mtt.test"
            ) as client,
        ):
            await scenario(Harness(client, hooks, simulator_of_app(app)))

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class CollectorThread:
    """A real HTTP receiver on 127.0.0.1 recording every request, in a daemon thread."""

    def __init__(self, port: int = 0) -> None:
        self.hooks: list[Hook] = []
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/{path:path}", self._record, methods=["GET", "POST"])])
        self.port = port or free_port()
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _record(self, request: Request) -> Response:
        body = (await request.body()).decode()
        hook = Hook(request.method, str(request.url), request.headers.get("content-type", ""), body)
        with self._lock:
            self.hooks.append(hook)
        return Response("ok")

    def received(self) -> list[Hook]:
        with self._lock:
            return list(self.hooks)

    def __enter__(self) -> CollectorThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "collector did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def poll(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Block until ``predicate()`` holds (for tests using real threads)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def events(hooks: list[Hook]) -> Iterator[str]:
    """The ``event`` field of JSON call hooks, in arrival order."""
    for hook in hooks:
        yield json.loads(hook.body)["event"]
