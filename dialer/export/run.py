"""``dialer export``: pick the rows and the writer."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.errors import UserError
from dialer.export.attempts import attempt_table
from dialer.export.contacts import contact_table
from dialer.export.writers import write_csv, write_parquet, write_xlsx


def export_campaign(
    engine: Engine, ref: str, output: Path, *, fmt: str, level: str, excel: bool = False
) -> int:
    """Write the export file; returns the number of data rows. Raises ``UserError`` for an
    unknown campaign or an unwritable output path."""
    with session_scope(engine) as session:
        campaign = get_campaign(session, ref)
    table = (
        contact_table(engine, campaign) if level == "contacts" else attempt_table(engine, campaign)
    )
    if not output.parent.exists():
        raise UserError(f"{output}: directory {output.parent} does not exist")
    try:
        if fmt == "xlsx":
            return write_xlsx(output, table.columns, table.rows)
        if fmt == "parquet":
            return write_parquet(output, table.columns, table.rows)
        return write_csv(output, table.columns, table.rows, excel=excel)
    except PermissionError:
        raise UserError(f"{output}: permission denied") from None
    except IsADirectoryError:
        raise UserError(f"{output}: is a directory") from None
