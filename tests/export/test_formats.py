"""Exports in every format hold the same rows; nothing a spreadsheet would evaluate."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.engine import Engine

from dialer.db.engine import session_scope
from dialer.db.models import Load
from dialer.dnc import add_to_dnc
from dialer.export.cells import escape_formula
from dialer.export.run import export_campaign
from dialer.export.writers import write_xlsx
from dialer.loader.load import load_contacts
from tests.support.factories import make_campaign, make_config, write_csv

ROWS = (
    "name,phone,note\n"
    "=cmd|' /C calc'!A0,79161234567,+1 sure\n"
    "@SUM(1+1),89161234568,-2\n"
    'Анна,+7 916 123-45-69,"\ttab"\n'
)


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+2", "'=1+2"),
        ("+7916", "'+7916"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("\nx", "'\nx"),
        ("Анна", "Анна"),
        ("79161234567", "79161234567"),
    ],
)
def test_formula_escaping(value: str, escaped: str) -> None:
    assert escape_formula(value) == escaped


@pytest.fixture
def campaign(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    make_campaign(sqlite_engine, make_config(text="Hi {name}"))
    load_contacts(sqlite_engine, "test", write_csv(tmp_path / "c.csv", ROWS))
    with session_scope(sqlite_engine) as session:
        add_to_dnc(session, ["79161234569"], source="cli")
    return sqlite_engine


def test_csv_xlsx_and_parquet_hold_the_same_rows(campaign: Engine, tmp_path: Path) -> None:
    export_campaign(campaign, "test", tmp_path / "c.csv", fmt="csv", level="contacts")
    export_campaign(campaign, "test", tmp_path / "c.xlsx", fmt="xlsx", level="contacts")
    export_campaign(campaign, "test", tmp_path / "c.parquet", fmt="parquet", level="contacts")

    with (tmp_path / "c.csv").open(encoding="utf-8-sig", newline="") as handle:
        from_csv = list(csv.DictReader(handle))
    book = load_workbook(tmp_path / "c.xlsx", read_only=True)
    sheet = book.active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    from_xlsx = [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    from_parquet = pq.read_table(tmp_path / "c.parquet").to_pylist()

    phones = ["79161234567", "79161234568", "79161234569"]
    assert [r["phone"] for r in from_csv] == phones
    assert [r["phone"] for r in from_xlsx] == phones  # digits as text, not numbers
    assert [r["phone"] for r in from_parquet] == phones
    assert [r["status"] for r in from_parquet] == ["pending", "pending", "opted_out"]
    assert [r["status"] for r in from_xlsx] == [r["status"] for r in from_csv]
    # User text that a spreadsheet would evaluate is defused in CSV and XLSX...
    assert from_csv[0]["name"] == "'=cmd|' /C calc'!A0"
    assert from_xlsx[1]["name"] == "'@SUM(1+1)"
    assert from_csv[0]["note"] == "'+1 sure"
    assert from_csv[2]["note"] == "'\ttab"
    # ...and kept verbatim in Parquet, which nothing evaluates.
    assert from_parquet[0]["name"] == "=cmd|' /C calc'!A0"
    schema = pq.read_schema(tmp_path / "c.parquet")
    assert str(schema.field("attempts").type) == "int64"
    assert str(schema.field("last_attempt_at").type) == "timestamp[us, tz=UTC]"


def test_excel_flavoured_csv_uses_semicolons(campaign: Engine, tmp_path: Path) -> None:
    export_campaign(campaign, "test", tmp_path / "e.csv", fmt="csv", level="contacts", excel=True)
    header = (tmp_path / "e.csv").read_text("utf-8-sig").splitlines()[0]
    assert header.startswith("campaign;phone;status;outcome;attempts")


def test_attempt_level_export_in_every_format(campaign: Engine, tmp_path: Path) -> None:
    for fmt in ("csv", "xlsx", "parquet"):
        result = export_campaign(campaign, "test", tmp_path / f"a.{fmt}", fmt=fmt, level="attempts")
        assert result.rows == 0  # nothing dialled yet; the files still open with their header
    assert pq.read_table(tmp_path / "a.parquet").num_rows == 0


def test_source_columns_named_like_export_columns_are_kept_as_text(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """A file's own ``phone``, ``created_at`` or ``cause`` column is exported under a
    ``(csv)`` suffix when a contract column has its name, and as text in Parquet."""
    make_campaign(sqlite_engine, make_config(text="Hi"))
    rows = "phone,created_at,cause\n8 (916) 123-45-67,2026-01-02,=bad\n"
    load_contacts(sqlite_engine, "test", write_csv(tmp_path / "c.csv", rows))
    export_campaign(sqlite_engine, "test", tmp_path / "c.parquet", fmt="parquet", level="contacts")
    export_campaign(sqlite_engine, "test", tmp_path / "c.csv", fmt="csv", level="contacts")

    table = pq.read_table(tmp_path / "c.parquet")
    assert table.column_names[-3:] == ["phone (csv)", "created_at", "cause"]
    assert {str(table.schema.field(name).type) for name in table.column_names[-3:]} == {"string"}
    row = table.to_pylist()[0]
    assert (row["phone"], row["phone (csv)"]) == ("79161234567", "8 (916) 123-45-67")
    assert (row["created_at"], row["cause"]) == ("2026-01-02", "=bad")
    with (tmp_path / "c.csv").open(encoding="utf-8-sig", newline="") as handle:
        from_csv = next(csv.DictReader(handle))
    assert (from_csv["phone (csv)"], from_csv["cause"]) == ("8 (916) 123-45-67", "'=bad")


def test_original_columns_come_from_every_load_in_order(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Each load records its header; the export's original columns are their union in load
    order, with or without those records (older loads are read contact by contact)."""
    make_campaign(sqlite_engine, make_config(text="Hi"))
    first = write_csv(tmp_path / "a.csv", "name,phone\nAnn,79161234567\n")
    second = write_csv(tmp_path / "b.csv", "phone;city;note\n79161234568;Тула\n")  # a short row
    load_contacts(sqlite_engine, "test", first)
    load_contacts(sqlite_engine, "test", second)

    def header() -> list[str]:
        export_campaign(sqlite_engine, "test", tmp_path / "o.csv", fmt="csv", level="contacts")
        with (tmp_path / "o.csv").open(encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle))

    assert header()[-4:] == ["name", "phone (csv)", "city", "note"]  # note: in the header only
    with session_scope(sqlite_engine) as session:
        session.execute(update(Load).values(columns_json=None))  # as loaded before 0002
    assert header()[-3:] == ["name", "phone (csv)", "city"]  # no contact has a note


def test_an_xlsx_sheet_holds_excels_row_limit_and_continues(tmp_path: Path) -> None:
    rows = [(f"7916000000{i}", i) for i in range(5)]
    count = write_xlsx(tmp_path / "x.xlsx", ("phone", "attempts"), rows, max_rows=3)
    book = load_workbook(tmp_path / "x.xlsx", read_only=True)
    sheets = {
        sheet.title: [list(r) for r in sheet.iter_rows(values_only=True)]  # type: ignore[union-attr]
        for sheet in book.worksheets
    }
    book.close()
    assert count == 5
    assert sheets == {
        "export": [["phone", "attempts"], ["79160000000", 0], ["79160000001", 1]],
        "export_2": [["phone", "attempts"], ["79160000002", 2], ["79160000003", 3]],
        "export_3": [["phone", "attempts"], ["79160000004", 4]],
    }
