"""Running the ``dialer`` command as a user does: a real process, its output read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def dialer(
    tmp_path: Path, *args: str, db: str | None = None, timeout: float = 120, **settings: str
) -> subprocess.CompletedProcess[str]:
    """``python -m dialer ARGS`` in ``tmp_path``, on a SQLite file there unless ``db``, with
    this process's environment plus ``settings`` (``MIN_BALANCE="abc"`` sets
    ``DIALER_MIN_BALANCE``)."""
    env = {**os.environ, "DIALER_DATABASE_URL": db or f"sqlite:///{tmp_path / 'cli.db'}"}
    env.update({f"DIALER_{key}": value for key, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "dialer", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=timeout,
        check=False,
    )


def last_json(output: str) -> dict[str, object]:
    """The JSON object ``--json`` prints as the last line."""
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """A failed command that said what was wrong in one line, with no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
