"""``dialer dnc``: the do-not-call list."""

from __future__ import annotations

from pathlib import Path

import click

from dialer.cli.app import App, emit, json_option, pass_app


@click.group()
def dnc() -> None:
    """The do-not-call list: listed numbers are never dialled or messaged, in any campaign."""


@dnc.command("add")
@click.argument("phones", nargs=-1, required=True, metavar="PHONE...")
@click.option("--reason", default=None, help="Why the numbers are listed (kept for audit).")
@json_option
@pass_app
def add(app: App, phones: tuple[str, ...], reason: str | None, as_json: bool) -> None:
    """Add numbers (any common format) and opt out their contacts in every campaign."""
    from dialer.db.engine import session_scope
    from dialer.dnc import add_to_dnc
    from dialer.dnc_input import normalize_dnc_numbers

    numbers = normalize_dnc_numbers(phones, source="command line")
    with session_scope(app.engine) as session:
        added = add_to_dnc(session, numbers, source="cli", reason=reason)
    emit(
        as_json,
        {"added": added, "listed": len(numbers)},
        f"{added} number(s) added to the DNC list",
    )


@dnc.command("import")
@click.argument("path", metavar="FILE", type=click.Path(path_type=Path))
@click.option(
    "--phone-column", default=None, help="Header of the phone column (default: detected)."
)
@click.option("--reason", default=None, help="Why the numbers are listed (kept for audit).")
@json_option
@pass_app
def import_(
    app: App, path: Path, phone_column: str | None, reason: str | None, as_json: bool
) -> None:
    """Import numbers from a CSV (same encodings and delimiters as `dialer load`)."""
    from dialer.db.engine import session_scope
    from dialer.dnc import add_to_dnc
    from dialer.dnc_input import read_dnc_file

    numbers, rejected = read_dnc_file(path, phone_column)
    with session_scope(app.engine) as session:
        added = add_to_dnc(
            session, numbers, source="import", reason=reason or f"import {path.name}"
        )
    payload = {"added": added, "listed": len(numbers), "rejected": rejected}
    emit(as_json, payload, f"{added} number(s) added; {rejected} unusable line(s) skipped")


@dnc.command("list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """Print the DNC list: number, source, date, reason."""
    from dialer.db.engine import session_scope
    from dialer.dnc import list_dnc

    with session_scope(app.engine) as session:
        entries = list_dnc(session)
    if as_json:
        rows = [
            {"phone": e.phone, "source": e.source, "reason": e.reason, "created_at": e.created_at}
            for e in entries
        ]
        emit(True, {"count": len(rows), "numbers": rows}, "")
        return
    for e in entries:
        click.echo(f"{e.phone}\t{e.source}\t{e.created_at:%Y-%m-%d %H:%M}\t{e.reason or ''}")
    click.echo(f"{len(entries)} number(s)", err=True)
