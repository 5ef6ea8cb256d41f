"""What every command shares: settings, the engine, error reporting and ``--json`` output."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from dialer.errors import UserError
from dialer.settings import Settings, get_settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """Lazily built process resources for one CLI invocation."""

    settings: Settings
    _engine: Engine | None = field(default=None, init=False)

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
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL is itself the message
        return "<unparseable URL>"


class DialerGroup(click.Group):
    """Turns user mistakes into one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            fail(str(exc))
        except (OperationalError, ProgrammingError) as exc:
            settings = ctx.obj.settings if isinstance(ctx.obj, App) else get_settings()
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


def configure_logging(level: str) -> None:
    from dialer.logs import PhoneMaskingFilter

    handler = logging.StreamHandler()
    handler.addFilter(PhoneMaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; msapi filters put phone numbers in URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
