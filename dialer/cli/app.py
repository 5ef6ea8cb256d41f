"""What every command shares: settings, the engine, error reporting and ``--json`` output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from dialer.errors import UserError
from dialer.logs import add_secrets
from dialer.settings import Settings, load_settings, safe_url

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """Lazily built process resources for one CLI invocation: settings are read on first use
    (so ``--help`` works whatever the environment), invalid ones raise ``ConfigError``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            add_secrets(*self._settings.secret_values())  # masked in every log line
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from dialer.db.engine import make_engine
            from dialer.db.schema import ensure_schema

            self._engine = make_engine(self.settings.database_url)
            ensure_schema(self._engine)
        return self._engine


pass_app = click.make_pass_decorator(App, ensure=False)


class DialerGroup(click.Group):
    """Turns user mistakes into one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            fail(str(exc))
        except (OperationalError, ProgrammingError) as exc:
            settings = ctx.obj.settings if isinstance(ctx.obj, App) else load_settings()
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            fail(f"database {safe_url(settings.database_url)}: {detail}")


def fail(message: str) -> None:
    click.echo(f"dialer: error: {message}", err=True)
    sys.exit(1)


def emit(as_json: bool, payload: dict[str, Any], human: str) -> None:
    """Print the human text, or (with ``--json``) one JSON object as the last line."""
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        click.echo(human)


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object as the last line."
)


def check_port(option: str, port: int, *, zero: str | None = None) -> int:
    """``port`` if it is a TCP port (``0`` too when ``zero`` says what it means); otherwise
    ``UserError`` naming ``option``."""
    low = 0 if zero else 1
    if not low <= port <= 65535:
        meaning = f" ({zero} 0)" if zero else ""
        raise UserError(f"{option} {port}: not a port; use {low}-65535{meaning}")
    return port


def listen_error(option: str, host: str, port: int, exc: OSError) -> UserError:
    """The one-line error for a server that could not listen on ``host:port``."""
    return UserError(f"{option} {port}: cannot listen on {host}:{port}: {exc.strerror or exc}")
