"""``dialer report``: a campaign's results as a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from dialer.cli.app import App, emit, json_option, pass_app


@click.command()
@click.argument("campaign_ref", metavar="CAMPAIGN")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    required=True,
    help="The HTML file to write.",
)
@json_option
@pass_app
def report(app: App, campaign_ref: str, output: Path, as_json: bool) -> None:
    """Write a campaign report: funnel, outcomes by cause, attempts over time and answer rate
    by local hour, with the status counts. One HTML file that needs no network to view; its
    numbers are also embedded as JSON (element `#report-data`)."""
    from dialer.report import write_report

    result = write_report(app.engine, campaign_ref, output)
    payload = {"campaign": result.campaign, "output": str(output), "bytes": result.bytes}
    emit(
        as_json,
        payload,
        f"report on {result.campaign} written to {output} ({result.bytes:,} bytes)",
    )
