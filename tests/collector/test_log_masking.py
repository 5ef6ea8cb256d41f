"""``dialer collector`` as deployed, its database refusing every write: everything it logs
(uvicorn's lines and tracebacks with the driver's SQL included) shows no full phone number
and no webhook token. Also: its listeners' mistakes are one line."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from tests.collector.conftest import TOKEN
from tests.support.processes import free_port, reachable, wait_until

PHONE = "79103880489"
COLLECTOR = (sys.executable, "-m", "dialer", "collector", "--host", "127.0.0.1")


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    env.update(
        DIALER_DATABASE_URL=database_url, DIALER_WEBHOOK_TOKEN=TOKEN, DIALER_LOG_LEVEL="DEBUG"
    )
    return env


def test_a_database_error_on_a_webhook_leaks_no_number_and_no_token(
    collector_sqlite_url: str, tmp_path: Path
) -> None:
    with sqlite3.connect(collector_sqlite_url.removeprefix("sqlite:///")) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
        )
    port = free_port()
    log_path = tmp_path / "collector.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*COLLECTOR, "--port", str(port), "--metrics-port", "0"],
            env=_env(collector_sqlite_url),
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: reachable(base), "collector", 30)
            # An IVR event may carry the notify URL (with the token) back in its body.
            ivr = (
                f'{{"id": "5", "event": "h_{PHONE}_16_4", "dtmf": "1", '
                f'"value": "https://dialer.example.ru/hooks/{TOKEN}/mtt/ivr"}}'
            )
            answers = [
                httpx.post(f"{base}/hooks/{TOKEN}/mtt/ivr", content=ivr, timeout=10),
                httpx.get(
                    f"{base}/hooks/{TOKEN}/mtt/sms?to={PHONE}&status=delivered"
                    "&message_sid=m1&direction=outbound",
                    timeout=10,
                ),
            ]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    logged = log_path.read_text(encoding="utf-8")

    assert [answer.status_code for answer in answers] == [503, 503]
    assert "forced failure" in logged
    assert "Traceback" in logged
    assert PHONE not in logged
    assert TOKEN not in logged


def test_a_busy_metrics_port_is_one_line(collector_sqlite_url: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = subprocess.run(
            [*COLLECTOR, "--port", str(free_port()), "--metrics-port", str(taken)],
            env=_env(collector_sqlite_url),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"dialer: error: --metrics-port {taken}: cannot listen on 127.0.0.1:{taken}: "
        "Address already in use"
    )
