"""``dialer web`` as an operator starts it: it serves, Ctrl-C stops it quietly, a taken port
is one line; ``dialer run --web`` puts the console beside a sandbox run with a sign-in."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dialer.accounts.users import authenticate
from dialer.db.engine import make_engine, session_scope
from tests.support.cli import assert_one_line_error, dialer

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = dialer(tmp_path, "web", "--port", str(port))
    assert_one_line_error(result, f"--port {port}: cannot listen on 127.0.0.1:{port}")


def test_serves_the_console_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DIALER_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "dialer", "web", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                login = httpx.get(f"{base}/login")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert login.status_code == 200
        assert 'aria-label="Username"' in login.text
        assert httpx.get(f"{base}/static/console.css").status_code == 200
        assert httpx.get(f"{base}/api/v1/campaigns").status_code == 401
        schema = httpx.get(f"{base}/api/v1/openapi.json").json()
        assert "/api/v1/campaigns/{name}/export" in schema["paths"]
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=20)
    assert server.returncode == 0
    assert "Traceback" not in stderr
    assert "console stopped" in stderr


def test_run_web_prints_the_console_and_a_sandbox_sign_in(tmp_path: Path) -> None:
    result = dialer(
        tmp_path,
        "run",
        str(CAMPAIGNS / "payment-reminder.toml"),
        str(CAMPAIGNS / "payment-reminder.csv"),
        "--sandbox",
        "--web",
        "-o",
        str(tmp_path / "results.csv"),
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(
        r"console: (http://127\.0\.0\.1:\d+/)\s+\(sign in as demo / (\S+)\)", result.stderr
    )
    assert found, result.stderr[-2000:]
    password = found.group(2)
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(engine) as session:
        user = authenticate(session, "demo", password)
        assert user is not None
        assert user.role == "admin"
        assert authenticate(session, "demo", password + "x") is None
