"""Configuration mistakes are one line on stderr naming the setting, exit 1, no traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import assert_one_line_error, dialer

SECRET = "pw-n0t-for-eyes"


@pytest.mark.parametrize(
    ("env", "needles"),
    [
        ({"DATABASE_URL": "mysql://x"}, ["DIALER_DATABASE_URL", "'mysql' is not supported"]),
        ({"DATABASE_URL": f"mysql://u:{SECRET}@x/db"}, ["DIALER_DATABASE_URL"]),
        ({"DATABASE_URL": "sqlite://dialer.db"}, ["DIALER_DATABASE_URL", "sqlite:///dialer.db"]),
        ({"DATABASE_URL": "dialer.db"}, ["DIALER_DATABASE_URL", "not a database URL"]),
        ({"MIN_BALANCE": "abc"}, ["DIALER_MIN_BALANCE", "'abc'"]),
        ({"LOG_LEVEL": "chatty"}, ["DIALER_LOG_LEVEL", "'chatty'"]),
        ({"WEBHOOK_TOKEN": "short"}, ["DIALER_WEBHOOK_TOKEN", "secrets.token_urlsafe(24)"]),
    ],
)
def test_bad_settings_are_one_line(tmp_path: Path, env: dict[str, str], needles: list[str]) -> None:
    result = dialer(tmp_path, "status", "x", **env)

    assert result.returncode == 1
    assert_one_line_error(result, "dialer: error: ", *needles)
    assert SECRET not in result.stderr
    assert not (tmp_path / "dialer.db").exists()


def test_help_works_whatever_the_settings(tmp_path: Path) -> None:
    result = dialer(tmp_path, "load", "--help", MIN_BALANCE="abc")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: dialer load")


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_simulator_port_out_of_range(tmp_path: Path, port: str) -> None:
    result = dialer(tmp_path, "simulator", "--port", port)

    assert result.returncode == 1
    assert_one_line_error(result, f"--port {port}: not a port")


def test_simulator_port_busy(tmp_path: Path, busy_port: int) -> None:
    result = dialer(tmp_path, "simulator", "--port", str(busy_port))

    assert result.returncode == 1
    assert_one_line_error(result, f"--port {busy_port}: cannot listen on 127.0.0.1:{busy_port}")
