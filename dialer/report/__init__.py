"""``dialer report``: a campaign's results as one self-contained HTML page.

``data`` queries the numbers, ``charts`` draws them as SVG, ``page`` assembles the HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.errors import UserError
from dialer.report.data import collect_report
from dialer.report.page import render_page


@dataclass(frozen=True)
class ReportResult:
    campaign: str
    """The campaign's name (the reference given may have been its id)."""
    output: Path
    bytes: int
    """Size of the written file."""


def report_html(engine: Engine, ref: str, *, now: datetime | None = None) -> str:
    """The report page of campaign ``ref`` (name or id); ``NotFoundError`` when unknown."""
    with session_scope(engine) as session:
        campaign = get_campaign(session, ref)
    return render_page(collect_report(engine, campaign, now))


def write_report(
    engine: Engine, ref: str, output: Path, *, now: datetime | None = None
) -> ReportResult:
    """Write the report of campaign ``ref`` (name or id) to ``output``. Raises ``UserError``
    for an unknown campaign or a path that cannot be written (nothing is queried then)."""
    with session_scope(engine) as session:
        campaign = get_campaign(session, ref)
    if not output.parent.exists():
        raise UserError(f"{output}: directory {output.parent} does not exist")
    if output.is_dir():
        raise UserError(f"{output}: is a directory")
    page = report_html(engine, campaign.name, now=now).encode("utf-8")
    try:
        output.write_bytes(page)
    except PermissionError:
        raise UserError(f"{output}: permission denied") from None
    except OSError as exc:
        raise UserError(f"{output}: {exc.strerror or exc}") from None
    return ReportResult(campaign.name, output, len(page))
