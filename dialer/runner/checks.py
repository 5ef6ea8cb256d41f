"""``dialer run``'s options, checked before anything touches the database or dials (pure,
apart from looking at the file system for the output paths)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from dialer.errors import UserError
from dialer.settings import Settings

DEFAULT_PORT = 8080
"""The collector's port for ``dialer run`` against MTT (your reverse proxy forwards to it);
``--sandbox`` picks a free port unless ``--port`` is given."""


@dataclass(frozen=True, slots=True)
class RunPaths:
    results: Path
    report: Path


def run_paths(campaign: str, output: Path | None) -> RunPaths:
    """The contacts export (default ``NAME-results.csv``) and the report beside it. Raises
    ``UserError`` for a directory."""
    results = output or Path(f"{campaign}-results.csv")
    if results.is_dir() or not results.name:
        raise UserError(f"{results} is a directory; give a file name")
    return RunPaths(results, results.with_name(f"{results.stem}-report.html"))


def check_writable(path: Path) -> None:
    """Raise ``UserError`` unless ``path`` can be written: its directory exists and is
    writable, and it is not itself a directory."""
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"{path}: directory {parent} does not exist")
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{path}: not writable")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{path}: directory {parent} is not writable")


def check_speed(speed: float) -> None:
    """``--speed`` is a time scale: a finite number above zero."""
    if not (math.isfinite(speed) and speed > 0):
        raise UserError(f"--speed must be a number above 0 (a time scale), not {speed:g}")


def collector_port(port: int | None, *, sandbox: bool) -> int:
    """``--port``, or its default: a free port for the sandbox, ``DEFAULT_PORT`` otherwise."""
    if port is None:
        return 0 if sandbox else DEFAULT_PORT
    return port


def check_live_settings(settings: Settings) -> None:
    """Without ``--sandbox`` MTT must reach the collector: a public URL and the webhook
    token that MTT's account is set up with."""
    if not settings.public_url:
        raise UserError(
            "set DIALER_PUBLIC_URL: the https address where MTT reaches this collector "
            "(or use --sandbox)"
        )
    if not settings.webhook_token.get_secret_value():
        raise UserError(
            "set DIALER_WEBHOOK_TOKEN: the secret in the webhook URLs MTT posts to "
            "(or use --sandbox)"
        )


def where_mtt_posts(public_url: str, host: str, port: int) -> str:
    """The pre-flight line that says where MTT must reach the collector (token hidden)."""
    base = public_url.rstrip("/")
    return (
        f"MTT posts events to {base}/hooks/***/mtt/call (SMS: /mtt/sms, IVR choices: "
        f"/mtt/ivr); serve it from {host}:{port} behind your reverse proxy"
    )
