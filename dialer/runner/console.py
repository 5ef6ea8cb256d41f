"""``dialer run --web``: the console beside an embedded run, on the same database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.models import User
from dialer.errors import UserError
from dialer.runner.progress import CONSOLE
from dialer.settings import Settings

SANDBOX_USER = "demo"


def sandbox_sign_in(engine: Engine) -> tuple[str, str] | None:
    """In a sandbox with no console users yet, an admin ``demo`` with a fresh password:
    ``(name, password)`` to print once; ``None`` when users exist (sign in as one of them)."""
    from dialer.accounts.roles import Role
    from dialer.accounts.users import add_user
    from dialer.db.engine import session_scope

    with session_scope(engine) as session:
        if session.exec(select(User.id)).first() is not None:
            return None
        password = secrets.token_urlsafe(12)
        add_user(session, SANDBOX_USER, Role.ADMIN, password)
    return SANDBOX_USER, password


@contextmanager
def console_beside(
    settings: Settings, engine: Engine, where: tuple[str, int], *, sandbox: bool
) -> Iterator[str]:
    """Serve the console on ``where`` (host, port) while the block runs; yields its URL."""
    from dialer.web.server import WebThread

    host, port = where
    try:
        thread = WebThread(settings, engine, host, port).start()
    except OSError as exc:
        raise UserError(f"--web {host}:{port}: cannot listen: {exc.strerror or exc}") from None
    login = sandbox_sign_in(engine) if sandbox else None
    if login is not None:
        CONSOLE.print(f"console: {thread.url}  (sign in as {login[0]} / {login[1]})")
    else:
        with Session(engine) as session:
            anyone = session.exec(select(User.id)).first() is not None
        hint = "" if anyone else "; add a user first: dialer user add NAME --role admin"
        CONSOLE.print(f"console: {thread.url}{hint}")
    try:
        yield thread.url
    finally:
        thread.stop()
