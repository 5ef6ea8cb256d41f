"""What every command shares: settings, the engine, error reporting and ``--json`` output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from dialer.errors import UserError
from dialer.logs import configure_logging as configure_logging  # re-exported for commands
from dialer.settings import (
    Settings,
    describe_settings_error,
    get_settings,
    mask_url,
    url_password,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """Lazily built process resources for one CLI invocation. Settings are read on first
    use, so ``--help`` works whatever the environment holds and a bad setting is reported
    by the command that needs it (one line, see ``DialerGroup``)."""

    _settings: Settings | None = field(default=None)
    _engine: Engine | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
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


def safe_url(url: str) -> str:
    """The database URL with its password hidden, for messages."""
    return mask_url(url)


class DialerGroup(click.Group):
    """Turns user mistakes into one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            fail(str(exc))
        except ValidationError as exc:
            if exc.title != Settings.__name__:
                raise
            fail(describe_settings_error(exc))
        except (OperationalError, ProgrammingError) as exc:
            settings = ctx.obj.settings if isinstance(ctx.obj, App) else get_settings()
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            password = url_password(settings.database_url)
            if password:
                detail = detail.replace(password, "***")
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


def _check_port(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if not 0 <= value <= 65535:
        raise UserError(f"{param.opts[0]} {value}: not a TCP port (use 0-65535)")
    return value


def port_option(*names: str, default: int, help: str) -> Callable[[F], F]:
    """A ``--port``-style option whose value out of 0-65535 is one line on stderr."""
    return click.option(
        *names, default=default, show_default=True, type=int, callback=_check_port, help=help
    )


def ensure_can_listen(option: str, host: str, port: int) -> None:
    """Raise ``UserError`` naming ``option`` when ``host:port`` cannot be listened on (in use,
    no such address, no permission), before a server starts and fails with a traceback."""
    import socket

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise UserError(f"{option} {port}: cannot listen on {host}:{port}: {reason}") from None
