"""File writers for exports. CSV is UTF-8 with a BOM so Excel shows Cyrillic.

Each writer picks one converter per column up front (from the column's name and whether it is
one of a contact's original CSV columns) instead of testing every cell's type: at a million
rows that per-cell dispatch was a large share of an export's time.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path

from dialer.errors import UserError
from dialer.export.cells import decimal_value, escape_formula, text_cell

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
        "talk_seconds",
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

DECIMAL_COLUMNS = frozenset({"cost"})
"""Money stored as decimal text: written as numbers, never through a float."""

PARQUET_DECIMAL = (18, 4)
"""Precision and scale of Parquet's ``decimal128`` for ``DECIMAL_COLUMNS``. MTT documents
``call_back_cost`` only as a number: four places keep fractions of a kopeck exact, and 18
digits leave fourteen for roubles."""

SAFE_TEXT_COLUMNS = frozenset({"phone", "status", "outcome", "channel", "counts_budget"})
"""Text the dialer itself writes from a closed set (digits, enum values): never formula-like,
so not escaped. Every other text column may hold user or provider text."""

XLSX_MAX_ROWS = 1_048_576
"""Excel's rows per sheet, the header included: longer exports continue on further sheets."""

BATCH = 2_000

Convert = Callable[[object], object]


def column_kinds(columns: Sequence[str], text_columns: int) -> list[str]:
    """``int``, ``time``, ``decimal``, ``safe`` or ``text`` per column; the last
    ``text_columns`` (a contact's original CSV columns) are ``text`` whatever their names."""
    typed = len(columns) - text_columns
    kinds = []
    for i, name in enumerate(columns):
        if i >= typed:
            kinds.append("text")
        elif name in INTEGER_COLUMNS:
            kinds.append("int")
        elif name in TIMESTAMP_COLUMNS:
            kinds.append("time")
        elif name in DECIMAL_COLUMNS:
            kinds.append("decimal")
        elif name in SAFE_TEXT_COLUMNS:
            kinds.append("safe")
        else:
            kinds.append("text")
    return kinds


def _text(value: object) -> object:
    if value is None:
        return None
    return escape_formula(value if isinstance(value, str) else str(value))


def _csv_time(value: object) -> object:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else value


def _xlsx_time(value: object) -> object:
    # Excel has no zones: UTC wall time.
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def _csv_decimal(value: object) -> object:
    """Decimal text in fixed notation (``2.98``); text that is not a number stays text,
    escaped."""
    amount = decimal_value(value)
    return _text(value) if amount is None else format(amount, "f")


def _excel_csv_decimal(value: object) -> object:
    # Excel in RU locales reads "2.98" as a date (February 1998): a decimal comma there.
    text = _csv_decimal(value)
    return text.replace(".", ",") if isinstance(text, str) and text[:1] != "'" else text


def _xlsx_decimal(value: object) -> object:
    amount = decimal_value(value)
    return _text(value) if amount is None else amount


def _parquet_decimal(value: object) -> Decimal | None:
    """``value`` at the Parquet scale, exactly; raises ``UserError`` when that is impossible
    (never expected: the collector stores only the numbers MTT sent)."""
    if value is None:
        return None
    precision, scale = PARQUET_DECIMAL
    amount = decimal_value(value)
    if amount is not None and abs(amount) < Decimal(10) ** (precision - scale):
        exact = amount.quantize(Decimal(1).scaleb(-scale))
        if exact == amount:
            return exact
    raise UserError(
        f"{str(value)[:40]!r} does not fit Parquet decimal128{PARQUET_DECIMAL}: "
        "export as CSV or XLSX instead"
    )


def _converting(
    kinds: Sequence[str], by_kind: dict[str, Convert]
) -> Callable[[Sequence[object]], list[object]]:
    """A row function applying ``by_kind`` converters; kinds without one pass through."""
    steps = [(i, by_kind[kind]) for i, kind in enumerate(kinds) if kind in by_kind]

    def convert(row: Sequence[object]) -> list[object]:
        values = list(row)
        for i, step in steps:
            values[i] = step(values[i])
        return values

    return convert


def _batches(rows: Iterable[Sequence[object]], size: int) -> Iterable[list[Sequence[object]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def write_csv(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    excel: bool = False,
    text_columns: int = 0,
) -> int:
    """Write rows as CSV (``;`` delimited with ``excel``). Returns the number of data rows.

    Formula-like text is escaped; integers and phones are digits; times are ISO 8601 UTC to
    the second; money is decimal text (a decimal comma with ``excel``); ``None`` is an empty
    field."""
    decimal = _excel_csv_decimal if excel else _csv_decimal
    convert = _converting(
        column_kinds(columns, text_columns),
        {"text": _text, "time": _csv_time, "decimal": decimal},
    )
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";" if excel else ",")
        writer.writerow([text_cell(c) for c in columns])
        for batch in _batches(rows, BATCH):
            writer.writerows(map(convert, batch))
            count += len(batch)
    return count


def write_xlsx(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    text_columns: int = 0,
    max_rows: int = XLSX_MAX_ROWS,
) -> int:
    """Write rows to XLSX in openpyxl's write-only (streaming) mode. Text is written as
    string cells (phones stay digits, never numbers) and formula-like text is escaped; money
    is a number cell. A sheet
    holds at most ``max_rows`` rows with its header; the rest continue on ``export_2``, ...
    Returns the number of data rows."""
    from openpyxl import Workbook

    convert = _converting(
        column_kinds(columns, text_columns),
        {"text": _text, "time": _xlsx_time, "decimal": _xlsx_decimal},
    )
    header = [text_cell(c) for c in columns]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append(header)
    on_sheet = 1
    count = 0
    for row in rows:
        if on_sheet >= max_rows:
            sheet = workbook.create_sheet(f"export_{len(workbook.worksheets) + 1}")
            sheet.append(header)
            on_sheet = 1
        sheet.append(convert(row))
        on_sheet += 1
        count += 1
    workbook.save(path)
    return count


def write_parquet(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    text_columns: int = 0,
    row_group: int = 50_000,
    batch: int = 5_000,
) -> int:
    """Write rows to Parquet, typed: counts and causes as int64, ``*_at`` as timezone-aware
    UTC timestamps, money as ``decimal128`` (``PARQUET_DECIMAL``; ``UserError`` for an
    amount it cannot hold exactly), everything else (phones included) as strings; the last
    ``text_columns``
    (a contact's original CSV columns) are strings whatever their names. Text is written as
    is: Parquet is not evaluated by spreadsheets. Returns the number of data rows.

    Rows become Arrow record batches ``batch`` at a time, so few Python row objects live at
    once; the compact batches are written as row groups of ``row_group`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = column_kinds(columns, text_columns)
    types = {
        "int": pa.int64(),
        "time": pa.timestamp("us", tz="UTC"),
        "decimal": pa.decimal128(*PARQUET_DECIMAL),
    }
    schema = pa.schema(
        [(name, types.get(kind, pa.string())) for name, kind in zip(columns, kinds, strict=True)]
    )
    count = 0
    pending: list[object] = []
    pending_rows = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for chunk in _batches(rows, batch):
            arrays = [
                _arrow_array(values, field.type)
                for values, field in zip(zip(*chunk, strict=True), schema, strict=True)
            ]
            pending.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            pending_rows += len(chunk)
            count += len(chunk)
            if pending_rows >= row_group:
                writer.write_table(pa.Table.from_batches(pending, schema=schema))
                pending, pending_rows = [], 0
        if pending or not count:
            writer.write_table(pa.Table.from_batches(pending, schema=schema))
    return count


def _arrow_array(values: Sequence[object], arrow_type: object) -> object:
    import pyarrow as pa

    if pa.types.is_decimal(arrow_type):
        return pa.array([_parquet_decimal(v) for v in values], type=arrow_type)
    try:
        return pa.array(values, type=arrow_type)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # A string column holding something else (never expected): as its text.
        return pa.array([None if v is None else str(v) for v in values], type=arrow_type)
