"""Private Redis and PostgreSQL servers for fault tests that flush or stop them.

The machine's shared servers must never be flushed or stopped: a test that does either starts
its own instance here, on a free port, in a temporary directory, and stops it afterwards.
A missing binary skips the test (fails it under ``CI=true``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import service_missing

PG_USER = "postgres"
"""PostgreSQL refuses to run as root: its tools run as this user (``runuser -u``)."""
_AS_PG = ("runuser", "-u", PG_USER, "--")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


class PrivateRedis:
    """A throwaway ``redis-server`` (no persistence) that a test may stop and start again on
    the same port (empty again: a restart is also a wipe)."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server", FileNotFoundError("redis-server not on PATH"))
        self.binary = binary or "redis-server"
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, 10)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None


@contextmanager
def private_redis_server(directory: Path) -> Iterator[PrivateRedis]:
    """A started ``PrivateRedis``; stopped afterwards."""
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def private_redis(directory: Path) -> Iterator[str]:
    """A throwaway ``redis-server``; yields its URL."""
    with private_redis_server(directory) as server:
        yield server.url


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of our own that a test may stop and start."""

    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*_AS_PG, "pg_ctl", "-D", str(self.data_dir), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        log = self.data_dir.parent / "postgres.log"
        self._ctl("-l", str(log), "-w", "-o", f"-p {self.port} -k {self.data_dir.parent}", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` disconnects every client at once, like a restart of the service."""
        self._ctl("-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """``initdb`` a cluster in a fresh directory under /tmp (pytest's own tmp is private to
    root; the ``postgres`` user must reach its data), trust auth, started on a free port;
    yield it; stop it and remove the directory afterwards, whatever state it was left in."""
    if shutil.which("initdb") is None or shutil.which("runuser") is None:
        service_missing("initdb/runuser", FileNotFoundError("PostgreSQL server tools"))
    home = Path(tempfile.mkdtemp(prefix="dialer-pg-"))
    try:
        shutil.chown(home, PG_USER, PG_USER)
        data_dir = home / "data"
        subprocess.run(
            [*_AS_PG, "initdb", "-D", str(data_dir), "-A", "trust", "-U", PG_USER, "-N"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        server = PrivatePostgres(data_dir, free_port())
        server.start()
        try:
            yield server
        finally:
            with suppress(subprocess.CalledProcessError):  # already stopped
                server.stop("immediate")
    finally:
        shutil.rmtree(home, ignore_errors=True)
