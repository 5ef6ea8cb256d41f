"""``dialer collector`` as a process: webhooks on --port, /healthz and /metrics only on the
internal listener, and SIGTERM drains what was received (issues 10.2, 10.11)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import Session, select

from dialer.db.engine import make_engine
from dialer.db.models import ProviderEvent
from tests.collector.conftest import TOKEN

EVENT = (
    '{"date_time": "2019-03-29-11-37-20", "id": "1255490", '
    '"CallID": "00035c7d92bb0971", "event": "h_79103880489_16_4"}'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def test_collector_command_serves_two_listeners_and_drains_on_sigterm(
    collector_sqlite_url: str, tmp_path: Path
) -> None:
    port, metrics_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    env |= {"DIALER_DATABASE_URL": collector_sqlite_url, "DIALER_WEBHOOK_TOKEN": TOKEN}
    command = [sys.executable, "-m", "dialer", "collector", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--metrics-port", str(metrics_port)]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        public, internal = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
        _wait_until_up(internal + "/healthz", process)
        _wait_until_up(public + "/", process)

        assert httpx.get(public + "/healthz").status_code == 404
        assert httpx.get(public + "/metrics").status_code == 404
        assert httpx.get(internal + "/healthz").json()["status"] == "ok"
        posted = httpx.post(f"{public}/hooks/{TOKEN}/mtt/call", content=EVENT)
        assert posted.status_code == 200
        assert "dialer_events_total" in httpx.get(internal + "/metrics").text
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)

    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert TOKEN not in stderr
    engine = make_engine(collector_sqlite_url)
    try:
        with Session(engine) as session:
            statuses = [row.status for row in session.exec(select(ProviderEvent))]
    finally:
        engine.dispose()
    assert statuses == ["orphan"]
