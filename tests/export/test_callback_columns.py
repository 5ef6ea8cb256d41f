"""The agent-callback columns: attempts' ``agent``, ``talk_seconds`` and ``cost``, contacts'
``agent`` and ``source``, typed and escaped alike in CSV, XLSX and Parquet."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact
from dialer.errors import UserError
from dialer.export import writers
from dialer.export.attempts import ATTEMPT_COLUMNS
from dialer.export.contacts import CONTACT_COLUMNS
from dialer.export.run import export_campaign
from dialer.loader.load import load_contacts
from tests.support.factories import make_campaign, make_config, write_csv

T = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
AGENTS = ("79031234567", "79031234568")
CALLBACK = f"[callback]\nagents = {list(AGENTS)!r}\n".replace("'", '"')

ATTEMPTS: tuple[dict[str, Any], ...] = (
    # Talked: agent, talk time and cost.
    {
        "outcome": "connected",
        "agent": AGENTS[0],
        "talk_seconds": 184,
        "cost": "2.98",
        "answered_at": T + timedelta(seconds=30),
    },
    # No agent took it: nothing but a zero cost.
    {"outcome": "agent_no_answer", "cost": "0"},
    # The agent as MTT's phone_A may spell it (a literal '+'), a cost in fractions of a kopeck.
    {"outcome": "no_answer", "agent": "+" + AGENTS[1], "cost": "1.2345"},
    # A negative amount is a number, not a formula.
    {"outcome": "connected", "agent": AGENTS[1], "talk_seconds": 0, "cost": "-0.50"},
    # Still live: nothing known yet.
    {"status": "submitted"},
)


def _read_csv(path: Path, delimiter: str = ",") -> list[dict[str, object]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def _read_xlsx(path: Path) -> list[dict[str, object]]:
    book = load_workbook(path, read_only=True)
    try:
        sheet = book.active
        assert sheet is not None
        header, *rows = sheet.iter_rows(values_only=True)
    finally:
        book.close()
    # A write-only sheet records no size: a row ends at its last non-empty cell.
    return [
        dict(zip(header, row + (None,) * (len(header) - len(row)), strict=True)) for row in rows
    ]


def _read_parquet(path: Path) -> list[dict[str, object]]:
    return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]


READERS: dict[str, Callable[[Path], list[dict[str, object]]]] = {
    "csv": _read_csv,
    "excel.csv": lambda path: _read_csv(path, ";"),
    "xlsx": _read_xlsx,
    "parquet": _read_parquet,
}


@pytest.fixture
def campaign(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    """A callback campaign: five attempts of one contact, and a contact from an IVR press
    whose source text looks like a formula."""
    make_campaign(
        sqlite_engine, make_config(name="cb", channel="callback", text="Hi", extra=CALLBACK)
    )
    rows = "phone\n79161234501\n79161234502\n"
    load_contacts(sqlite_engine, "cb", write_csv(tmp_path / "c.csv", rows), now=T)
    with session_scope(sqlite_engine) as session:
        first, second = session.exec(select(Contact).order_by(col(Contact.id))).all()
        for n, fields in enumerate(ATTEMPTS):
            at = T + timedelta(minutes=n)
            values: dict[str, Any] = {"status": "completed", **fields}
            session.add(
                Attempt(
                    campaign_id=first.campaign_id,
                    contact_id=first.id or 0,
                    channel="callback",
                    number=first.phone,
                    created_at=at,
                    dialing_at=at,
                    updated_at=at,
                    **values,
                )
            )
        first.agent, first.source = AGENTS[1], "ivr:order-ready digit 2"
        second.source = '=HYPERLINK("http://x.test")'
        session.add_all([first, second])
    return sqlite_engine


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "csv",
            [
                (AGENTS[0], "184", "2.98"),
                ("", "", "0"),
                ("'+" + AGENTS[1], "", "1.2345"),
                (AGENTS[1], "0", "-0.50"),
                ("", "", ""),
            ],
        ),
        (
            "excel.csv",
            [
                (AGENTS[0], "184", "2,98"),
                ("", "", "0"),
                ("'+" + AGENTS[1], "", "1,2345"),
                (AGENTS[1], "0", "-0,50"),
                ("", "", ""),
            ],
        ),
        (
            "xlsx",
            [
                (AGENTS[0], 184, 2.98),
                (None, None, 0),
                ("'+" + AGENTS[1], None, 1.2345),
                (AGENTS[1], 0, -0.5),
                (None, None, None),
            ],
        ),
        (
            "parquet",
            [
                (AGENTS[0], 184, Decimal("2.98")),
                (None, None, Decimal(0)),
                ("+" + AGENTS[1], None, Decimal("1.2345")),
                (AGENTS[1], 0, Decimal("-0.5")),
                (None, None, None),
            ],
        ),
    ],
)
def test_attempt_callback_columns(
    campaign: Engine, tmp_path: Path, fmt: str, expected: list[tuple[object, ...]]
) -> None:
    path = tmp_path / f"a.{fmt}"
    export_campaign(
        campaign,
        "cb",
        path,
        fmt=fmt.rsplit(".", 1)[-1],
        level="attempts",
        excel=fmt == "excel.csv",
    )
    rows = READERS[fmt](path)
    assert [tuple(row[name] for name in ("agent", "talk_seconds", "cost")) for row in rows] == (
        expected
    )
    assert [row["channel"] for row in rows] == ["callback"] * len(ATTEMPTS)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("csv", [(AGENTS[1], "ivr:order-ready digit 2"), ("", '\'=HYPERLINK("http://x.test")')]),
        ("xlsx", [(AGENTS[1], "ivr:order-ready digit 2"), (None, '\'=HYPERLINK("http://x.test")')]),
        (
            "parquet",
            [(AGENTS[1], "ivr:order-ready digit 2"), (None, '=HYPERLINK("http://x.test")')],
        ),
    ],
)
def test_contact_callback_columns(
    campaign: Engine, tmp_path: Path, fmt: str, expected: list[tuple[object, ...]]
) -> None:
    path = tmp_path / f"c.{fmt}"
    export_campaign(campaign, "cb", path, fmt=fmt, level="contacts")
    rows = READERS[fmt](path)
    assert [(row["agent"], row["source"]) for row in rows] == expected
    assert list(rows[0])[-1] == "phone (csv)"  # the original CSV columns still come last


def test_new_columns_come_after_the_existing_ones_and_are_typed(
    campaign: Engine, tmp_path: Path
) -> None:
    assert ATTEMPT_COLUMNS[-4:] == ("updated_at", "agent", "talk_seconds", "cost")
    assert CONTACT_COLUMNS[-3:] == ("line", "agent", "source")
    export_campaign(campaign, "cb", tmp_path / "a.parquet", fmt="parquet", level="attempts")
    export_campaign(campaign, "cb", tmp_path / "c.parquet", fmt="parquet", level="contacts")
    attempts = pq.read_schema(tmp_path / "a.parquet")
    contacts = pq.read_schema(tmp_path / "c.parquet")
    assert [str(attempts.field(n).type) for n in ("agent", "talk_seconds", "cost")] == [
        "string",
        "int64",
        "decimal128(18, 4)",
    ]
    assert [str(contacts.field(n).type) for n in ("agent", "source")] == ["string", "string"]
    costs = pq.read_table(tmp_path / "a.parquet").column("cost")
    assert sum(v for v in costs.to_pylist() if v is not None) == Decimal(
        "3.7145"
    )  # 2.98 + 0 + 1.2345 - 0.50


@pytest.mark.parametrize(
    ("stored", "in_csv", "in_excel_csv", "in_xlsx", "in_parquet"),
    [
        ("2.98", "2.98", "2,98", 2.98, Decimal("2.98")),
        ("10", "10", "10", 10, Decimal(10)),
        ("1E+1", "10", "10", 10, Decimal(10)),
        ("0.0001", "0.0001", "0,0001", 0.0001, Decimal("0.0001")),
        (
            "12345678901234.5",
            "12345678901234.5",
            "12345678901234,5",
            12345678901234.5,
            Decimal("12345678901234.5"),
        ),
        (None, "", "", None, None),
    ],
)
def test_cost_cells(
    tmp_path: Path,
    stored: str | None,
    in_csv: str,
    in_excel_csv: str,
    in_xlsx: object,
    in_parquet: Decimal | None,
) -> None:
    rows = [(stored,)]
    writers.write_csv(tmp_path / "c.csv", ("cost",), rows)
    writers.write_csv(tmp_path / "e.csv", ("cost",), rows, excel=True)
    writers.write_xlsx(tmp_path / "x.xlsx", ("cost",), rows)
    writers.write_parquet(tmp_path / "p.parquet", ("cost",), rows)
    assert READERS["csv"](tmp_path / "c.csv") == [{"cost": in_csv}]
    assert READERS["excel.csv"](tmp_path / "e.csv") == [{"cost": in_excel_csv}]
    assert READERS["xlsx"](tmp_path / "x.xlsx") == [{"cost": in_xlsx}]
    assert READERS["parquet"](tmp_path / "p.parquet") == [{"cost": in_parquet}]


@pytest.mark.parametrize("stored", ["1.23456", "123456789012345", "abc", "NaN", "=1+2"], ids=repr)
def test_a_cost_parquet_cannot_hold_exactly_is_an_error_not_a_rounding(
    tmp_path: Path, stored: str
) -> None:
    with pytest.raises(UserError, match=r"does not fit Parquet decimal128\(18, 4\)"):
        writers.write_parquet(tmp_path / "p.parquet", ("cost",), [(stored,)])


@pytest.mark.parametrize(("stored", "written"), [("abc", "abc"), ("=1+2", "'=1+2"), ("-x", "'-x")])
def test_a_cost_that_is_not_a_number_stays_escaped_text_in_csv_and_xlsx(
    tmp_path: Path, stored: str, written: str
) -> None:
    writers.write_csv(tmp_path / "c.csv", ("cost",), [(stored,)], excel=True)
    writers.write_xlsx(tmp_path / "x.xlsx", ("cost",), [(stored,)])
    assert READERS["excel.csv"](tmp_path / "c.csv") == [{"cost": written}]
    assert READERS["xlsx"](tmp_path / "x.xlsx") == [{"cost": written}]
