"""``dialer load``, ``dialer status`` and ``dialer export``: contacts in, results out."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dialer.cli.app import App, emit, json_option, pass_app


@click.command()
@click.argument("campaign_ref", metavar="CAMPAIGN")
@click.argument("path", metavar="FILE.csv", type=click.Path(path_type=Path))
@click.option(
    "--phone-column", default=None, help="Header of the phone column (default: detected)."
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write rejected lines (default: FILE.rejects.csv beside the input).",
)
@json_option
@pass_app
def load(
    app: App,
    campaign_ref: str,
    path: Path,
    phone_column: str | None,
    rejects_path: Path | None,
    as_json: bool,
) -> None:
    """Load contacts from a CSV into a campaign.

    UTF-8 or UTF-16 (each with or without a BOM) and cp1251; `,` `;` or tab. Numbers are
    normalised to E.164; bad lines go to the rejects file with their line number and reason;
    numbers already in the campaign count as duplicates; numbers on the DNC list are stored as
    `suppressed`. Loading the same file again adds nothing.
    """
    from dialer.loader.load import load_contacts
    from dialer.loader.progress import file_progress

    with file_progress(path, enabled=sys.stderr.isatty() and not as_json) as progress:
        summary = load_contacts(
            app.engine,
            campaign_ref,
            path,
            phone_column=phone_column,
            rejects_path=rejects_path,
            progress=progress,
        )
    payload = summary.as_dict()
    human = (
        f"{summary.rows} rows: {summary.loaded} loaded, {summary.rejected} rejected, "
        f"{summary.duplicates} duplicates, {summary.suppressed} suppressed"
        + (f"; rejects in {summary.rejects_file}" if summary.rejects_file else "")
        + (f"\nwarning: {summary.warning}" if summary.warning else "")
    )
    emit(as_json, payload, human)


@click.command()
@click.argument("campaign_ref", metavar="CAMPAIGN")
@json_option
@click.option("--watch", is_flag=True, help="Redraw a live table every second until Ctrl-C.")
@pass_app
def status(app: App, campaign_ref: str, as_json: bool, watch: bool) -> None:
    """Show a campaign's state, counts by contact status and outcome, DTMF choices, attempts,
    the current rate, an ETA and why waiting contacts wait (--json: the same as data)."""
    from dialer.campaign.store import get_campaign
    from dialer.db.engine import session_scope
    from dialer.export.status import campaign_status
    from dialer.export.status_view import render_status, watch_status

    with session_scope(app.engine) as session:
        campaign = get_campaign(session, campaign_ref)
    if watch and not as_json:
        watch_status(app.engine, campaign.name)
        return
    data = campaign_status(app.engine, campaign)
    if as_json:
        emit(True, data.model_dump(mode="json"), "")
    else:
        render_status(data)


@click.command()
@click.argument("campaign_ref", metavar="CAMPAIGN")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "parquet"]),
    default=None,
    help="Default: from the output file's extension, else csv.",
)
@click.option(
    "--level", type=click.Choice(["contacts", "attempts"]), default="contacts", show_default=True
)
@click.option(
    "--excel", is_flag=True, help="CSV with ';' as the delimiter, for Excel in RU locales."
)
@click.option(
    "--since",
    "since",
    metavar="CURSOR",
    default=None,
    help="Only rows changed after CURSOR: the cursor the previous export printed "
    "(or any ISO 8601 UTC time).",
)
@json_option
@pass_app
def export(
    app: App,
    campaign_ref: str,
    output: Path,
    fmt: str | None,
    level: str,
    excel: bool,
    since: str | None,
    as_json: bool,
) -> None:
    """Export a campaign's results, one row per contact (or per attempt with --level).

    Text a spreadsheet would evaluate is escaped with a leading `'`; phones are digits.
    Every export prints a cursor; pass it as --since next time to get only the rows changed
    in between (changes of the last 10 s wait for the next export). Columns: docs/export.md.
    """
    from dialer.export.cursor import parse_cursor
    from dialer.export.run import export_campaign

    fmt = fmt or {".xlsx": "xlsx", ".parquet": "parquet"}.get(output.suffix.lower(), "csv")
    result = export_campaign(
        app.engine,
        campaign_ref,
        output,
        fmt=fmt,
        level=level,
        excel=excel,
        since=parse_cursor(since) if since is not None else None,
    )
    payload = {
        "campaign": campaign_ref,
        "output": str(output),
        "format": fmt,
        "level": level,
        "rows": result.rows,
        "since": since,
        "cursor": result.cursor,
    }
    human = f"{result.rows} {level} row(s) written to {output}; next --since {result.cursor}"
    emit(as_json, payload, human)
