"""Configuration mistakes are one line on stderr naming the setting, exit 1 (issue 11.10)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.cli.main import cli
from dialer.settings import get_settings
from tests.support.cli import assert_one_line_error


def _dialer(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    return subprocess.run(
        [sys.executable, "-m", "dialer", *args],
        capture_output=True,
        text=True,
        env={**clean, "DIALER_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", **env},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("setting", "value", "needle"),
    [
        ("DIALER_DATABASE_URL", "mysql://x", "unsupported database 'mysql'"),
        ("DIALER_DATABASE_URL", "sqlite://dialer.db", "sqlite:///dialer.db (three slashes)"),
        ("DIALER_DATABASE_URL", "dialer.db", "not a database URL"),
        ("DIALER_MIN_BALANCE", "abc", "valid decimal"),
        ("DIALER_LOG_LEVEL", "loud", "unknown log level"),
        ("DIALER_WEBHOOK_TOKEN", "short", "use at least 16"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, setting: str, value: str, needle: str
) -> None:
    result = _dialer(tmp_path, {setting: value}, "dnc", "list")

    assert_one_line_error(result, f"{setting}: ", needle)
    assert result.returncode == 1
    assert result.stderr.startswith("dialer: error: ")


def test_help_works_whatever_the_settings(tmp_path: Path) -> None:
    result = _dialer(tmp_path, {"DIALER_MIN_BALANCE": "abc"}, "dnc", "--help")

    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_a_database_password_never_shows(tmp_path: Path) -> None:
    result = _dialer(
        tmp_path, {"DIALER_DATABASE_URL": "mysql://u:hunter2-secret@h/db"}, "status", "x"
    )

    assert_one_line_error(result, "DIALER_DATABASE_URL")
    assert "hunter2-secret" not in result.stderr


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    port = _free_port()
    url = f"postgresql://dialer:hunter2-secret@127.0.0.1:{port}/dialer"
    result = _dialer(tmp_path, {"DIALER_DATABASE_URL": url}, "dnc", "list")

    assert_one_line_error(result, f"database postgresql://dialer:***@127.0.0.1:{port}/dialer")
    assert "hunter2-secret" not in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    monkeypatch.setenv("DIALER_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setattr("dialer.sandbox.serve_simulator", _must_not_serve)
    monkeypatch.setattr("dialer.collector.server.run_collector", _must_not_serve)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _must_not_serve(*args: object, **kwargs: object) -> None:
    raise AssertionError("the server must not start")


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_simulator_port_out_of_range(runner: CliRunner, port: str) -> None:
    result = runner.invoke(cli, ["simulator", "--port", port])

    assert result.exit_code == 1
    assert result.stderr == f"dialer: error: --port {port}: not a TCP port (use 0-65535)\n"


def test_simulator_port_in_use(runner: CliRunner, busy_port: int) -> None:
    result = runner.invoke(cli, ["simulator", "--port", str(busy_port)])

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"dialer: error: --port {busy_port}: cannot listen on 127.0.0.1:")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("option", ["--port", "--metrics-port"])
def test_collector_ports_in_use_or_out_of_range(
    runner: CliRunner, busy_port: int, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALER_WEBHOOK_TOKEN", "t" * 24)
    host = ["--host", "127.0.0.1"] + (["--port", "0"] if option == "--metrics-port" else [])
    in_use = runner.invoke(cli, ["collector", *host, option, str(busy_port)])
    out_of_range = runner.invoke(cli, ["collector", *host, option, "70000"])

    assert in_use.exit_code == out_of_range.exit_code == 1
    assert in_use.stderr.startswith(f"dialer: error: {option} {busy_port}: cannot listen")
    assert out_of_range.stderr == f"dialer: error: {option} 70000: not a TCP port (use 0-65535)\n"
