"""Running the simulator over real HTTP: in a background thread (tests, ``dialer run
--sandbox``) or in the current event loop (``dialer simulator``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from types import TracebackType

import httpx
import uvicorn
from starlette.applications import Starlette

from dialer.simulator.app import create_app, simulator_of_app
from dialer.simulator.config import SimulatorConfig

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 1
"""How long ``stop`` lets open requests (e.g. held "lost" answers) finish, seconds."""
KEEP_ALIVE_SECONDS = 30
"""Idle keep-alive, seconds; longer than the clients' pool expiry (httpx: 5 s). At uvicorn's
default of 5 s both ends expire a connection at once, and a dial sent on it as the server
closes it fails with ReadError: a spurious "unknown" outcome."""


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # without it every answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _uvicorn(app: Starlette) -> uvicorn.Server:
    settings = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,  # logging is the entry point's (dialer.logs masks every line)
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return uvicorn.Server(settings)


class SimulatorServer:
    """The simulator on ``host:port`` (0 picks a free port) in a daemon thread.

    ``start()`` returns the base URL once the server accepts connections; ``stop()`` shuts
    it down, cancelling pending events. Also a context manager.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.app = create_app(config, webhook_transport=webhook_transport)
        self._server = _uvicorn(self.app)
        self._host, self._port = host, port
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url: str | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; ``timeout`` is in seconds. Raises ``RuntimeError`` if it fails."""
        if self._thread is not None:
            raise RuntimeError("the simulator server is already started")
        sock = self._socket = _bind(self._host, self._port)
        self.base_url = _url(sock)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="mtt-simulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator server did not start")
            time.sleep(0.01)
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait up to ``timeout`` seconds for the thread to end."""
        if self._thread is None:
            return
        simulator_of_app(self.app).closing.set()
        self._server.should_exit = True
        self._thread.join(timeout)
        self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> SimulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


async def serve(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve the simulator in the running loop until cancelled; ``ready`` is set once it
    accepts connections (the URL is logged at INFO)."""
    app = create_app(config)
    server = _uvicorn(app)
    sock = _bind(host, port)
    url = _url(sock)

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        log.info("MTT simulator listening on %s", url)
        if ready is not None:
            ready.set()

    announcer = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        simulator = simulator_of_app(app)
        simulator.closing.set()
        announcer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await announcer
        sock.close()
        await simulator.aclose()  # a cancelled serve() skips the lifespan shutdown
