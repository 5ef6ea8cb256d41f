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
    """Import numbers from a CSV (same encodings and delimiters as `dialer load`).

    Unusable lines are listed, with their line numbers and why, in FILE.dnc-rejects.csv. A file
    where fewer than half of the lines hold a phone number is refused whole (the wrong file?).
    """
    from dialer.db.engine import session_scope
    from dialer.dnc import add_to_dnc
    from dialer.dnc_input import read_dnc_file

    read = read_dnc_file(path, phone_column)
    with session_scope(app.engine) as session:
        added = add_to_dnc(
            session, read.numbers, source="import", reason=reason or f"import {path.name}"
        )
    payload = {
        "added": added,
        "listed": len(read.numbers),
        "rejected": read.rejected,
        "rejects_file": read.rejects_file,
    }
    human = f"{added} number(s) added; {read.rejected} unusable line(s) skipped" + (
        f", listed in {read.rejects_file}" if read.rejects_file else ""
    )
    emit(as_json, payload, human)


@dnc.command("remove")
@click.argument("phones", nargs=-1, required=True, metavar="PHONE...")
@click.option("--reason", required=True, help="Why the numbers may be called again (audited).")
@json_option
@pass_app
def remove(app: App, phones: tuple[str, ...], reason: str, as_json: bool) -> None:
    """Take numbers off the DNC list. The change is kept in the audit trail (`dnc history`).

    Contacts already opted out stay opted out; later loads no longer store the number as
    suppressed.
    """
    from dialer.db.engine import session_scope
    from dialer.dnc import remove_from_dnc
    from dialer.dnc_input import normalize_dnc_numbers
    from dialer.errors import UserError

    if not reason.strip():
        raise UserError("--reason: say why the numbers may be called again")
    numbers = normalize_dnc_numbers(phones, source="command line")
    with session_scope(app.engine) as session:
        removed = remove_from_dnc(session, numbers, reason=reason.strip())
    missing = sorted(set(numbers) - set(removed))
    emit(
        as_json,
        {"removed": len(removed), "not_listed": missing},
        f"{len(removed)} number(s) removed from the DNC list"
        + (f"; not on it: {', '.join(missing)}" if missing else ""),
    )


@dnc.command("history")
@click.argument("phone", required=False, metavar="[PHONE]")
@json_option
@pass_app
def history(app: App, phone: str | None, as_json: bool) -> None:
    """Print the DNC audit trail (every add and remove, oldest first), or one number's."""
    from dialer.db.engine import session_scope
    from dialer.dnc import dnc_history
    from dialer.dnc_input import normalize_dnc_numbers

    number = normalize_dnc_numbers([phone], source="command line")[0] if phone else None
    with session_scope(app.engine) as session:
        changes = dnc_history(session, number)
    if as_json:
        rows = [
            {
                "phone": c.phone,
                "action": c.action,
                "source": c.source,
                "reason": c.reason,
                "at": c.created_at,
            }
            for c in changes
        ]
        emit(True, {"count": len(rows), "changes": rows}, "")
        return
    for c in changes:
        click.echo(
            f"{c.created_at:%Y-%m-%d %H:%M}\t{c.action}\t{c.phone}\t{c.source}\t{c.reason or ''}"
        )
    click.echo(f"{len(changes)} change(s)", err=True)


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
