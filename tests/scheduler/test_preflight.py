"""``dialer scheduler`` refuses to start without its broker: one line, exit 1."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from dialer.errors import UserError
from dialer.scheduler.preflight import check_broker
from tests.support.cli import assert_one_line_error, dialer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cret-pass@127.0.0.1:{port}/0",
        "redis://user:s3cret-pass@127.0.0.1:{port}",
        "nonsense://s3cret-pass",
        "redis://:s3cret-pass@127.0.0.1:99999",
    ],
)
def test_an_unreachable_broker_is_one_line_without_the_password(url: str) -> None:
    with pytest.raises(UserError) as error:
        check_broker(url.format(port=free_port()), timeout=1)
    message = str(error.value)
    assert message.startswith("cannot reach the broker at DIALER_REDIS_URL")
    assert "s3cret" not in message
    assert "\n" not in message


def test_dialer_scheduler_exits_at_once_when_redis_is_down(tmp_path: Path) -> None:
    assert dialer(tmp_path, "db", "upgrade").returncode == 0
    url = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"
    result = dialer_with(tmp_path, url)
    assert_one_line_error(result, "cannot reach the broker at DIALER_REDIS_URL", "Connection")
    assert "s3cret" not in result.stderr


def dialer_with(tmp_path: Path, redis_url: str) -> subprocess.CompletedProcess[str]:
    return dialer(tmp_path, "scheduler", timeout=20, REDIS_URL=redis_url)
