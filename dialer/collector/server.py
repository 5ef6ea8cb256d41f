"""Serving the collector with uvicorn: in the foreground (``dialer collector``) or in a
background thread on a free port (``dialer run``, tests, the bench).

The webhook routes and the internal ``/healthz`` + ``/metrics`` listen on different sockets:
only the first is meant for the internet. uvicorn's lifespan is on, so a stop (SIGTERM,
``ServerThread.stop()``) finishes the requests in flight, then drains the applier.

uvicorn's access log is off: request paths carry the webhook token (and query strings may
carry phone numbers). The token is also redacted from uvicorn's and the root handlers' logs.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp

from dialer.collector.app import create_apps
from dialer.collector.tokens import install_redaction
from dialer.settings import Settings

LIMIT_CONCURRENCY = 256
"""Connections + requests served at once; past it uvicorn answers 503 and MTT retries."""
KEEP_ALIVE_SECONDS = 30
"""Idle keep-alive, in seconds: MTT and proxies reuse connections; closing them sooner
than a proxy would only adds reconnects and reset races."""
GRACEFUL_SHUTDOWN_SECONDS = 10
"""How long shutdown waits for requests in flight, in seconds."""
START_TIMEOUT_SECONDS = 10.0
DEFAULT_METRICS_PORT = 9108
"""Where ``dialer collector`` serves ``/healthz`` and ``/metrics`` unless told otherwise."""


def uvicorn_config(app: ASGIApp, *, host: str, port: int) -> uvicorn.Config:
    """The collector's uvicorn settings; logging is left to the entry point (``log_config``
    is ``None``)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        lifespan="on",
        server_header=False,
        limit_concurrency=LIMIT_CONCURRENCY,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


class ListenError(OSError):
    """A listener could not bind; ``what`` names it (``"webhooks"`` or ``"metrics"``)."""

    def __init__(self, what: str, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.what, self.host, self.port = what, host, port


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``0``: a free port), not yet listening. Raises
    ``OSError`` (port taken, address not ours, privileged port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says
    # TCP, and without it every answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run_collector(
    settings: Settings,
    engine: Engine,
    host: str,
    port: int,
    *,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = DEFAULT_METRICS_PORT,
    broker_ping: Callable[[], bool] | None = None,
) -> None:
    """Serve the webhooks on ``host:port`` and (unless ``metrics_port`` is ``None``)
    ``/healthz`` + ``/metrics`` on ``metrics_host:metrics_port``, until SIGINT/SIGTERM
    (blocks); then requests in flight finish and the applier drains. Raises ``ListenError``
    when either cannot listen."""
    apps = create_apps(settings, engine, broker_ping=broker_ping)
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise ListenError("webhooks", host, port, exc) from None
    internal: ServerThread | None = None
    uninstall = install_redaction(settings.webhook_token.get_secret_value())
    # uvicorn handles SIGTERM/SIGINT, shuts down gracefully, then raises the signal again for
    # the handler it found: make that one a no-op, so the ``finally`` below runs (the internal
    # listener stops too) and the process exits 0, not killed by its own re-raised SIGTERM.
    if threading.current_thread() is threading.main_thread():
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, _already_handled)
    try:
        if metrics_port is not None:
            internal = ServerThread(apps.internal, host=metrics_host, port=metrics_port)
            try:
                internal.start()
            except OSError as exc:
                raise ListenError("metrics", metrics_host, metrics_port, exc) from None
        uvicorn.Server(uvicorn_config(apps.public, host=host, port=port)).run(sockets=[sock])
    finally:
        if internal is not None:
            internal.stop()
        sock.close()
        uninstall()


def _already_handled(signum: int, frame: FrameType | None) -> None:
    """uvicorn has already acted on the signal (see ``run_collector``)."""


class ServerThread:
    """Any ASGI app served by uvicorn in a daemon thread. ``port=0`` picks a free port.

    ``start()`` returns the base URL (``http://127.0.0.1:<port>``) once the server accepts
    connections, or raises ``RuntimeError`` if it did not start within 10 s; ``stop()`` shuts
    it down and waits for the thread. ``token`` is redacted from logs while it runs.
    """

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, token: str = ""
    ) -> None:
        self._app, self._host, self._port, self._token = app, host, port, token
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._uninstall: Callable[[], None] | None = None
        self.base_url = ""

    def start(self) -> str:
        if self._thread is not None:
            return self.base_url
        sock = bind_socket(self._host, self._port)
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn_config(self._app, host=self._host, port=port))
        self._uninstall = install_redaction(self._token)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="dialer-collector", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"collector did not start on {self._host}:{port}")
            time.sleep(0.01)
        self.base_url = f"http://{_client_host(self._host)}:{port}"
        return self.base_url

    def stop(self) -> None:
        """Shut down (idempotent): stop accepting, finish requests in flight, join."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(GRACEFUL_SHUTDOWN_SECONDS + 5)
        if self._socket is not None:
            self._socket.close()
        if self._uninstall is not None:
            self._uninstall()
        self._server = self._thread = self._socket = self._uninstall = None


class CollectorServer(ServerThread):
    """The collector's webhooks in a background thread (``dialer run`` and tests).

    ``/healthz`` and ``/metrics`` are served only when ``metrics_port`` is given (``0``: a
    free port), on their own listener; ``metrics_url`` is then its base URL.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        metrics_host: str = "127.0.0.1",
        metrics_port: int | None = None,
        broker_ping: Callable[[], bool] | None = None,
        apply_inline: bool = True,
    ) -> None:
        apps = create_apps(settings, engine, broker_ping=broker_ping, apply_inline=apply_inline)
        super().__init__(
            apps.public, host=host, port=port, token=settings.webhook_token.get_secret_value()
        )
        self._internal = (
            None
            if metrics_port is None
            else ServerThread(apps.internal, host=metrics_host, port=metrics_port)
        )
        self.metrics_url = ""

    def start(self) -> str:
        base_url = super().start()
        if self._internal is not None and not self.metrics_url:
            try:
                self.metrics_url = self._internal.start()
            except BaseException:
                super().stop()
                raise
        return base_url

    def stop(self) -> None:
        if self._internal is not None:
            self._internal.stop()
            self.metrics_url = ""
        super().stop()


def _client_host(host: str) -> str:
    """Where a local client reaches a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
