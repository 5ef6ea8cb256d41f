"""Running the distributed topology as real processes: shared by the distributed tests and
``bench/dispatch.py``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from dialer.sandbox import pointed_at_simulator, sandbox_secrets
from dialer.settings import Settings
from dialer.simulator.config import OutcomeWeights, SimulatorConfig

STOP_GRACE_SECONDS = 15.0
START_TIMEOUT_SECONDS = 60.0


def dialer_command(*args: str) -> list[str]:
    """``python -m dialer ARGS`` with this interpreter."""
    return [sys.executable, "-m", "dialer", *args]


def dialer_env(
    settings: Settings, token: str, *, database_url: str | None = None, **extra: str
) -> dict[str, str]:
    """This process's environment without its ``DIALER_*`` variables, plus the ``DIALER_*``
    settings one service of the cluster needs; ``extra`` adds more (``DIAL_LEASE_SECONDS=...``).
    ``DIALER_PUBLIC_URL`` is passed only when ``settings`` has one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    values = {
        name.upper(): _env_text(getattr(settings, name))
        for name, info in Settings.model_fields.items()
        if getattr(settings, name) != info.default and getattr(settings, name) is not None
    }
    values |= {
        "DATABASE_URL": database_url or settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "WEBHOOK_TOKEN": token,
        "SANDBOX": "true",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    env.update({f"DIALER_{k}": v for k, v in values.items()})
    return env


def _env_text(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


class Processes:
    """Subprocesses with their output in log files. ``stop_all`` sends SIGTERM, then kills
    whatever is still running after ``STOP_GRACE_SECONDS``."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        handle = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT)
        self.running.append((process, handle))
        return process

    def stop(self, pid: int, signum: int = signal.SIGTERM) -> None:
        for process, _ in self.running:
            if process.pid == pid and process.poll() is None:
                process.send_signal(signum)
                try:
                    process.wait(STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()

    def stop_all(self) -> None:
        for process, _ in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process, handle in self.running:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            handle.close()
        self.running.clear()


@dataclass
class Cluster:
    """A running distributed topology: ``settings`` dial its simulator at ``sim_url``;
    ``dialer()`` adds a service (scheduler, worker) to ``processes`` with ``env``."""

    settings: Settings
    engine: Engine
    sim_url: str
    processes: Processes
    env: dict[str, str]
    tmp: Path

    def dialer(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``dialer ARGS`` as a service of this cluster."""
        return self.processes.spawn(name, dialer_command(*args), self.env)


@dataclass(frozen=True)
class SimulatorProcess:
    """A simulator to start as its own process, and the settings that dial it."""

    settings: Settings
    url: str
    argv: tuple[str, ...]
    """``dialer simulator`` arguments after ``dialer``: its port and config file."""


def simulator_process(base: Settings, sim: SimulatorConfig, directory: Path) -> SimulatorProcess:
    """Write ``sim`` (with its credentials) to ``directory``, pick a free port, and point a
    copy of ``base`` at that simulator (sandbox mode: plain-http notify URLs)."""
    config = directory / "simulator.json"
    config.write_text(json.dumps(_revealed(sim.model_dump())), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = pointed_at_simulator(base, url, sim)
    return SimulatorProcess(
        settings, url, ("simulator", "--port", str(port), "--config", str(config))
    )


def _revealed(value: object) -> object:
    """A model dump as JSON can hold it, secrets in the clear (for the simulator process)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: _revealed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    ready: Callable[[], bool],
    what: str,
    timeout: float = START_TIMEOUT_SECONDS,
    interval: float = 0.05,
) -> None:
    """Poll ``ready`` every ``interval`` seconds; ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:g} s")
        time.sleep(interval)


def reachable(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


EVERYONE_ANSWERS = OutcomeWeights(
    answered=1, busy=0, no_answer=0, absent=0, unallocated=0, network=0
)


@contextmanager
def simulated_mtt(
    base: Settings, engine: Engine, directory: Path, sim: SimulatorConfig, **env: str
) -> Iterator[tuple[SimulatorProcess, dict[str, str], Processes]]:
    """The collector in this process and the simulator as a process of its own posting its
    call events there, like MTT: its clock and its rate measurements share no GIL with the
    collector. Yields the simulator (its settings point at it, and their ``public_url`` at the
    collector: IVR notify and CallBack event URLs are built from it), the environment for
    ``dialer`` processes (``env`` adds ``DIALER_*`` settings) and the process group; stops
    them all on exit."""
    from dialer.collector.server import CollectorServer
    from dialer.sandbox import hook_url

    token = base.webhook_token.get_secret_value()
    base = sandbox_secrets(base, sim)
    collector = CollectorServer(base, engine)
    collector_url = collector.start()
    wired = sim.model_copy(
        update={
            "call_webhook_url": hook_url(collector_url, token, "call"),
            "uis_webhook_url": f"{collector_url}/hooks/{token}/uis",
            "mtt_business_webhook_url": f"{collector_url}/hooks/{token}/mtt-business",
            "bitrix24_webhook_url": f"{collector_url}/hooks/{token}/bitrix24",
        }
    )
    simulator = simulator_process(
        base.model_copy(update={"public_url": collector_url}), wired, directory
    )
    environment = dialer_env(simulator.settings, token, **env)
    processes = Processes(directory)
    try:
        processes.spawn("simulator", dialer_command(*simulator.argv), environment)
        wait_until(lambda: reachable(f"{simulator.url}/_sim/stats"), "simulator", timeout=20)
        yield simulator, environment, processes
    finally:
        processes.stop_all()
        collector.stop()
