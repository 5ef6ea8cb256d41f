"""Running the web application under uvicorn: in the foreground (``dialer web``) or on a
thread beside an embedded run (``dialer run --web``)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import uvicorn
from sqlalchemy.engine import Engine

from dialer.settings import Settings
from dialer.web.app import create_app

log = logging.getLogger(__name__)


def _config(settings: Settings, engine: Engine, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings, engine),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=3,  # open event streams end; requests in flight finish
        h11_max_incomplete_event_size=64 * 1024,
    )


def _bind(host: str, port: int) -> socket.socket:
    """Listen now, so a taken port is an ``OSError`` here and not a log line later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve_web(settings: Settings, engine: Engine, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    sock = _bind(host, port)
    log.info("console at http://%s:%d/ (API /api/v1)", host, sock.getsockname()[1])
    uvicorn.Server(_config(settings, engine, host, port)).run(sockets=[sock])


class WebThread:
    """The console on a background thread: ``start()`` listens (``OSError`` when it cannot),
    ``url`` is where it is, ``stop()`` ends it."""

    def __init__(self, settings: Settings, engine: Engine, host: str, port: int) -> None:
        self._sock = _bind(host, port)
        self.url = f"http://{host}:{self._sock.getsockname()[1]}/"
        self._server = uvicorn.Server(_config(settings, engine, host, port))
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> WebThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
