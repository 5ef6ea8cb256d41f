"""``dialer user`` and ``dialer token``: who may use the web console and the HTTP API."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from dialer.cli.app import App, emit, json_option, pass_app

ROLE_CHOICE = click.Choice(["admin", "manager", "analyst"])
role_option = click.option(
    "--role",
    "role_name",
    type=ROLE_CHOICE,
    required=True,
    help="admin: everything; manager: run campaigns; analyst: read only.",
)
password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from one line of standard input instead of prompting.",
)


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


@click.group()
def user() -> None:
    """Console users: add, list, disable, enable, change a password."""


@user.command("add")
@click.argument("name")
@role_option
@password_stdin_option
@pass_app
def user_add(app: App, name: str, role_name: str, password_stdin: bool) -> None:
    """Add a console user NAME (letters, digits, '.', '_', '@', '-')."""
    from dialer.accounts.names import check_name
    from dialer.accounts.passwords import check_new_password
    from dialer.accounts.roles import parse_role
    from dialer.accounts.users import add_user
    from dialer.db.engine import session_scope

    role = parse_role(role_name)
    check_name("user", name)  # before asking for a password
    password = _read_password(password_stdin)
    check_new_password(password)
    with session_scope(app.engine) as session:
        add_user(session, name, role, password)
    click.echo(f"user {name!r} added ({role})")


@user.command("list")
@json_option
@pass_app
def user_list(app: App, as_json: bool) -> None:
    """Print the users: name, role, active or disabled, created."""
    from dialer.accounts.users import list_users
    from dialer.db.engine import session_scope

    with session_scope(app.engine) as session:
        users = list_users(session)
    if as_json:
        rows = [
            {
                "name": u.name,
                "role": u.role,
                "status": "active" if u.disabled_at is None else "disabled",
                "created_at": u.created_at,
                "disabled_at": u.disabled_at,
            }
            for u in users
        ]
        emit(True, {"count": len(rows), "users": rows}, "")
        return
    for u in users:
        status = "active" if u.disabled_at is None else "disabled"
        click.echo(f"{u.name}\t{u.role}\t{status}\t{_when(u.created_at)}")
    click.echo(f"{len(users)} user(s)", err=True)


@user.command("disable")
@click.argument("name")
@pass_app
def user_disable(app: App, name: str) -> None:
    """Stop NAME signing in, and sign them out of every browser."""
    from dialer.accounts.users import disable_user
    from dialer.db.engine import session_scope

    with session_scope(app.engine) as session:
        disable_user(session, name)
    click.echo(f"user {name!r} disabled")


@user.command("enable")
@click.argument("name")
@pass_app
def user_enable(app: App, name: str) -> None:
    """Let a disabled user sign in again."""
    from dialer.accounts.users import enable_user
    from dialer.db.engine import session_scope

    with session_scope(app.engine) as session:
        enable_user(session, name)
    click.echo(f"user {name!r} enabled")


@user.command("password")
@click.argument("name")
@password_stdin_option
@pass_app
def user_password(app: App, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME."""
    from dialer.accounts.passwords import check_new_password
    from dialer.accounts.users import set_password
    from dialer.db.engine import session_scope

    password = _read_password(password_stdin)
    check_new_password(password)
    with session_scope(app.engine) as session:
        set_password(session, name, password)
    click.echo(f"password of user {name!r} changed")


@click.group()
def token() -> None:
    """API tokens for /api/v1: create (shown once), revoke, list."""


@token.command("create")
@click.argument("name")
@role_option
@json_option
@pass_app
def token_create(app: App, name: str, role_name: str, as_json: bool) -> None:
    """Create an API token NAME and print it. It is shown this once: only a hash is kept."""
    from dialer.accounts.roles import parse_role
    from dialer.accounts.tokens import create_token
    from dialer.db.engine import session_scope

    role = parse_role(role_name)
    with session_scope(app.engine) as session:
        plaintext = create_token(session, name, role)
    if as_json:
        emit(True, {"name": name, "role": str(role), "token": plaintext}, "")
        return
    click.echo(
        f"token {name!r} created ({role}); copy it now, it will not be shown again:", err=True
    )
    click.echo(plaintext)


@token.command("revoke")
@click.argument("name")
@pass_app
def token_revoke(app: App, name: str) -> None:
    """Stop the token NAME working, at once."""
    from dialer.accounts.tokens import revoke_token
    from dialer.db.engine import session_scope

    with session_scope(app.engine) as session:
        revoke_token(session, name)
    click.echo(f"token {name!r} revoked")


@token.command("list")
@json_option
@pass_app
def token_list(app: App, as_json: bool) -> None:
    """Print the tokens: name, role, active or revoked, created, last used (never the token)."""
    from dialer.accounts.tokens import list_tokens
    from dialer.db.engine import session_scope

    with session_scope(app.engine) as session:
        tokens = list_tokens(session)
    if as_json:
        rows = [
            {
                "name": t.name,
                "role": t.role,
                "status": "active" if t.revoked_at is None else "revoked",
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "revoked_at": t.revoked_at,
            }
            for t in tokens
        ]
        emit(True, {"count": len(rows), "tokens": rows}, "")
        return
    for t in tokens:
        status = "active" if t.revoked_at is None else "revoked"
        click.echo(f"{t.name}\t{t.role}\t{status}\t{_when(t.created_at)}\t{_when(t.last_used_at)}")
    click.echo(f"{len(tokens)} token(s)", err=True)
