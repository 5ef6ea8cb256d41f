"""File writers for exports. CSV is UTF-8 with a BOM so Excel shows Cyrillic."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from dialer.export.cells import text_cell


def write_csv(
    path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]], *, excel: bool = False
) -> int:
    """Write rows as CSV (``;`` delimited with ``excel``). Returns the number of data rows.

    Every cell goes through ``text_cell``: formula-like text is escaped, phones stay digits.
    """
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";" if excel else ",")
        writer.writerow([text_cell(c) for c in columns])
        for row in rows:
            writer.writerow([text_cell(v) for v in row])
            count += 1
    return count


def write_xlsx(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write rows to an XLSX sheet in openpyxl's write-only (streaming) mode. Text is written
    as string cells (phones stay digits, never numbers) and formula-like text is escaped.
    Returns the number of data rows."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append([text_cell(c) for c in columns])
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
        count += 1
    workbook.save(path)
    return count


def _xlsx_cell(value: object) -> object:
    if value is None or isinstance(value, bool):
        return text_cell(value) if value is not None else None
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no zones: UTC wall time
    return text_cell(value)


def write_parquet(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    text_columns: int = 0,
    batch: int = 50_000,
) -> int:
    """Write rows to Parquet in row groups of ``batch`` (bounded memory), typed: counts and
    causes as int64, ``*_at`` as timezone-aware UTC timestamps, everything else (phones
    included) as strings; the last ``text_columns`` (a contact's original CSV columns) are
    strings whatever their names. Text is written as is: Parquet is not evaluated by
    spreadsheets. Returns the number of data rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    typed = len(columns) - text_columns
    schema = pa.schema(
        [
            (name, _parquet_type(name) if i < typed else pa.string())
            for i, name in enumerate(columns)
        ]
    )
    writer = None
    count = 0
    chunk: list[Sequence[object]] = []

    def flush() -> None:
        nonlocal writer
        data = [
            [_parquet_value(name if i < typed else "", row[i]) for row in chunk]
            for i, name in enumerate(columns)
        ]
        table = pa.Table.from_arrays(
            [pa.array(col, type=schema.field(i).type) for i, col in enumerate(data)], schema=schema
        )
        if writer is None:
            writer = pq.ParquetWriter(str(path), schema)
        writer.write_table(table)
        chunk.clear()

    try:
        for row in rows:
            chunk.append(row)
            count += 1
            if len(chunk) >= batch:
                flush()
        if chunk or writer is None:
            flush()
    finally:
        if writer is not None:
            writer.close()
    return count


INTEGER_COLUMNS = frozenset(
    {
        "attempts",
        "last_cause",
        "duration",
        "transfer_duration",
        "line",
        "attempt_id",
        "cause",
        "transfer_cause",
    }
)


TIMESTAMP_COLUMNS = frozenset(
    {
        "last_attempt_at",
        "next_attempt_at",
        "created_at",
        "dialing_at",
        "submitted_at",
        "answered_at",
        "finished_at",
        "updated_at",
    }
)
"""The export's own typed columns; a contact's original CSV columns are always strings."""


def _parquet_type(name: str) -> object:
    import pyarrow as pa

    if name in INTEGER_COLUMNS:
        return pa.int64()
    if name in TIMESTAMP_COLUMNS:
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def _parquet_value(name: str, value: object) -> object:
    if value is None or name in INTEGER_COLUMNS or name in TIMESTAMP_COLUMNS:
        return value
    return str(value)
