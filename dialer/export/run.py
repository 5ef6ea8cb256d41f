"""``dialer export``: pick the rows and the writer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.db.types import utcnow
from dialer.errors import UserError
from dialer.export.attempts import attempt_table
from dialer.export.contacts import contact_table
from dialer.export.cursor import export_window
from dialer.export.writers import write_csv, write_parquet, write_xlsx


@dataclass(frozen=True)
class ExportResult:
    rows: int
    """Data rows written (the header not counted)."""
    cursor: str
    """Pass as ``--since`` to the next export to get only what changed after this one."""


def export_campaign(
    engine: Engine,
    ref: str,
    output: Path,
    *,
    fmt: str,
    level: str,
    excel: bool = False,
    since: datetime | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Write the export file. With ``since`` (a parsed cursor), only rows changed after it.
    Raises ``UserError`` for an unknown campaign or an unwritable output path."""
    with session_scope(engine) as session:
        campaign = get_campaign(session, ref)
    window = export_window(since, now or utcnow())
    changed = window if since is not None else None
    table = (
        contact_table(engine, campaign, changed)
        if level == "contacts"
        else attempt_table(engine, campaign, changed)
    )
    if not output.parent.exists():
        raise UserError(f"{output}: directory {output.parent} does not exist")
    extras = len(table.extra_columns)
    try:
        if fmt == "xlsx":
            rows = write_xlsx(output, table.columns, table.rows, text_columns=extras)
        elif fmt == "parquet":
            rows = write_parquet(output, table.columns, table.rows, text_columns=extras)
        else:
            rows = write_csv(output, table.columns, table.rows, excel=excel, text_columns=extras)
    except PermissionError:
        raise UserError(f"{output}: permission denied") from None
    except IsADirectoryError:
        raise UserError(f"{output}: is a directory") from None
    return ExportResult(rows, window.cursor)
