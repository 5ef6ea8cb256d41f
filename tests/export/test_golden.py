"""Golden files: the exports of one fixed campaign, byte for byte, and the same rows read back
from XLSX and Parquet.

Regenerate after an intended change with ``DIALER_UPDATE_GOLDEN=1 pytest tests/export``, then
read the diff of ``tests/export/golden/`` before committing it.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact
from dialer.dnc import add_to_dnc
from dialer.export.run import export_campaign
from dialer.loader.load import load_contacts
from tests.support.factories import make_campaign, make_config, write_csv

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DIALER_UPDATE_GOLDEN") == "1"

T_DNC = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)
T_LOAD = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
T = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
"""The first dial; the times of results are offsets from it."""

SOURCE = (
    "name,phone,note,city\r\n"
    'Анна Иванова,+7 916 123-45-01,"=HYPERLINK(""http://x.test"",""клик"")",Москва\r\n'
    "Борис,8 (916) 123-45-02,+1 к заказу,\r\n"
    '@admin,79161234503,-5,"Санкт-\r\nПетербург"\r\n'
    "Дмитрий,79161234504,\tтаб,Тверь\r\n"
    'Елена,79161234505,"\r\nс новой строки","\rвозврат каретки"\r\n'
    "Жанна,79161234506,оператор,Казань\r\n"
    "Зоя,79161234507,,Омск\r\n"
    "Игорь,79161234508,звонок идёт,Сочи\r\n"
    "Кирилл,79161234509,отписался,Уфа\r\n"
)
"""Formula-like text (``= + - @``, tab, CR, LF), an empty field, fields spanning lines."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""What OWASP says a spreadsheet may evaluate at the start of a cell."""

ANSWERED = {"outcome": "answered", "cause": 16}
BUSY = {"outcome": "busy", "cause": 17, "duration": 0}


def _at(seconds: int) -> datetime:
    return T + timedelta(seconds=seconds)


def _attempt(session: Session, contact: Contact, start: int, **fields: Any) -> Attempt:
    """An attempt created ``start`` seconds after ``T``, by default a call dialled one second
    and accepted two seconds later that ended with ``completed``; ``fields`` override."""
    values: dict[str, Any] = {
        "campaign_id": contact.campaign_id,
        "contact_id": contact.id,
        "channel": "ivr",
        "number": contact.phone,
        "status": "completed",
        "created_at": _at(start),
        "dialing_at": _at(start + 1),
        "submitted_at": _at(start + 2),
        "provider_id": f"call-{contact.phone[-2:]}-{start}",
        **fields,
    }
    values.setdefault("updated_at", values.get("finished_at") or values["submitted_at"])
    attempt = Attempt(**values)
    session.add(attempt)
    session.flush()
    return attempt


def _settle(session: Session, contact: Contact, attempts: list[Attempt], **fields: Any) -> None:
    """The contact after its ``attempts``: the last one's results, as the outcome engine copies
    them, plus ``fields``."""
    last = attempts[-1]
    contact.attempts = len(attempts)
    contact.budget_used = sum(a.counts_budget for a in attempts)
    contact.last_attempt_id = last.id
    contact.last_attempt_at = last.created_at
    contact.outcome, contact.last_cause, contact.duration = last.outcome, last.cause, last.duration
    contact.dtmf, contact.dtmf_label = last.dtmf, last.dtmf_label
    contact.transfer_duration = last.transfer_duration
    contact.updated_at = last.updated_at
    for name, value in fields.items():
        setattr(contact, name, value)
    session.add(contact)


def _contact(session: Session, phone: str) -> Contact:
    return session.exec(select(Contact).where(Contact.phone == phone)).one()


def _reached_with_dtmf(session: Session) -> None:
    anna = _contact(session, "79161234501")
    call = _attempt(
        session,
        anna,
        0,
        **ANSWERED,
        duration=42,
        dtmf="1",
        dtmf_label="pickup",
        answered_at=_at(8),
        finished_at=_at(50),
    )
    _settle(
        session,
        anna,
        [call],
        status="reached",
        reason="final: answered",
        next_attempt_at=None,
    )


def _busy_three_times(session: Session) -> None:
    boris = _contact(session, "79161234502")
    calls = [
        _attempt(session, boris, start, **BUSY, finished_at=_at(start + 5))
        for start in (60, 1860, 3660)
    ]
    _settle(
        session,
        boris,
        calls,
        status="not_reached",
        reason="3 attempts used (busy)",
        next_attempt_at=None,
    )


def _waiting_for_a_retry(session: Session) -> None:
    """A cancelled attempt (not a dial, not counted), then an unknown Q.850 cause."""
    admin = _contact(session, "79161234503")
    _attempt(
        session,
        admin,
        120,
        status="cancelled",
        counts_budget=False,
        provider_id=None,
        dialing_at=None,
        submitted_at=None,
        error="not dialled: outside calling window",
        updated_at=_at(121),
    )
    call = _attempt(
        session, admin, 240, outcome="unknown", cause=200, duration=0, finished_at=_at(250)
    )
    _settle(
        session,
        admin,
        [call],
        status="retry_wait",
        reason="retry after unknown",
        next_attempt_at=_at(3600),
    )


def _transferred(session: Session) -> None:
    zhanna = _contact(session, "79161234506")
    call = _attempt(
        session,
        zhanna,
        300,
        **ANSWERED,
        duration=95,
        dtmf="3",
        dtmf_label="operator",
        transfer_number="74997090111",
        transfer_cause=16,
        transfer_duration=65,
        answered_at=_at(310),
        finished_at=_at(405),
    )
    _settle(
        session,
        zhanna,
        [call],
        status="reached",
        reason="final: answered",
        next_attempt_at=None,
    )


def _refused_and_live(session: Session) -> None:
    """An invalid number the provider refused, and a call still waiting for its hangup (the
    scheduler leaves ``next_attempt_at`` as it was when it queued the attempt)."""
    zoya = _contact(session, "79161234507")
    call = _attempt(
        session,
        zoya,
        360,
        status="failed",
        outcome="invalid_number",
        provider_id=None,
        submitted_at=None,
        finished_at=_at(362),
        error='InvalidNumberError: sb-api: "b_number" should be in e164 format',
    )
    _settle(
        session,
        zoya,
        [call],
        status="invalid",
        reason="final: invalid_number",
        next_attempt_at=None,
    )
    igor = _contact(session, "79161234508")
    call = _attempt(session, igor, 420, status="submitted")
    _settle(session, igor, [call], status="in_progress", reason=None)


@pytest.fixture
def campaign(sqlite_engine: Engine, tmp_path: Path) -> Engine:
    """Nine contacts of an IVR campaign, in every contact status but ``cancelled``: one on the
    DNC list before the load (suppressed), one opted out after it, one never dialled."""
    make_campaign(sqlite_engine, make_config(name="golden", channel="ivr"))
    with session_scope(sqlite_engine) as session:
        add_to_dnc(session, ["79161234504"], source="import", now=T_DNC)
    load_contacts(sqlite_engine, "golden", write_csv(tmp_path / "c.csv", SOURCE), now=T_LOAD)
    results = (
        _reached_with_dtmf,
        _busy_three_times,
        _waiting_for_a_retry,
        _transferred,
        _refused_and_live,
    )
    for record in results:
        with session_scope(sqlite_engine) as session:
            record(session)
    with session_scope(sqlite_engine) as session:
        add_to_dnc(session, ["79161234509"], source="cli", now=_at(3600))
    return sqlite_engine


def _export(engine: Engine, path: Path, *, fmt: str, level: str, excel: bool = False) -> Path:
    export_campaign(engine, "golden", path, fmt=fmt, level=level, excel=excel)
    return path


def _golden_rows(name: str, delimiter: str = ",") -> list[list[str]]:
    with (GOLDEN / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


@pytest.mark.parametrize(
    ("name", "level", "excel"),
    [
        ("contacts.csv", "contacts", False),
        ("contacts_excel.csv", "contacts", True),
        ("attempts.csv", "attempts", False),
    ],
)
def test_csv_matches_the_golden_file(
    campaign: Engine, tmp_path: Path, name: str, level: str, excel: bool
) -> None:
    produced = _export(campaign, tmp_path / name, fmt="csv", level=level, excel=excel).read_bytes()
    if UPDATE:
        (GOLDEN / name).write_bytes(produced)
    assert produced == (GOLDEN / name).read_bytes(), f"{name} differs from its golden file"


def test_the_golden_files_say_what_they_should() -> None:
    """The golden files by meaning, so that a careless regeneration cannot pass unread."""
    for name in ("contacts.csv", "contacts_excel.csv", "attempts.csv"):
        assert (GOLDEN / name).read_bytes().startswith(b"\xef\xbb\xbfcampaign")
    rows = _golden_rows("contacts.csv")
    assert _golden_rows("contacts_excel.csv", delimiter=";") == rows
    header, by_phone = rows[0], {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert header[-4:] == ["name", "phone (csv)", "note", "city"]
    assert list(by_phone) == [f"7916123450{n}" for n in range(1, 10)]
    assert [row["status"] for row in by_phone.values()] == [
        "reached",
        "not_reached",
        "retry_wait",
        "suppressed",
        "pending",
        "reached",
        "invalid",
        "in_progress",
        "opted_out",
    ]
    assert by_phone["79161234501"]["name"] == "Анна Иванова"
    assert by_phone["79161234501"]["phone (csv)"] == "'+7 916 123-45-01"  # the file's own text
    assert by_phone["79161234503"]["city"] == "Санкт-\r\nПетербург"  # inside text: kept
    assert by_phone["79161234505"]["note"] == "'\r\nс новой строки"
    assert by_phone["79161234507"]["note"] == ""
    attempts = _golden_rows("attempts.csv")
    assert [row[1] for row in attempts[1:]] == [str(n) for n in range(1, 10)]


def _unescaped(text: str) -> str:
    """Golden CSV text as Parquet keeps it: without the ``'`` before a formula start."""
    return text[1:] if text[:1] == "'" and text[1:2].startswith(FORMULA_STARTS) else text


def _as_csv_text(value: object, kind: pa.DataType) -> str:
    """A typed cell as the CSV writes it, once checked to have its column's Parquet type."""
    if value is None:
        return ""
    if pa.types.is_int64(kind):
        assert type(value) is int, value
        return str(value)
    if pa.types.is_timestamp(kind):
        assert isinstance(value, datetime), value
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.isoformat(timespec="seconds")
    assert isinstance(value, str), value
    return value


def _parquet_rows(path: Path) -> tuple[pa.Schema, list[tuple[object, ...]]]:
    table = pq.read_table(path)
    columns = [table.column(name).to_pylist() for name in table.column_names]
    return table.schema, list(zip(*columns, strict=True))


def _xlsx_rows(path: Path) -> Iterator[tuple[object, ...]]:
    """The sheet's rows, each as wide as the header: a write-only sheet records no size, so
    openpyxl reads a row only up to its last non-empty cell."""
    workbook = load_workbook(path, read_only=True)
    try:
        sheet = workbook.active
        assert sheet is not None
        rows = sheet.iter_rows(values_only=True)
        header = next(rows)
        yield header
        for row in rows:
            yield row + (None,) * (len(header) - len(row))
    finally:
        workbook.close()


@pytest.mark.parametrize("level", ["contacts", "attempts"])
def test_xlsx_and_parquet_hold_the_golden_rows(
    campaign: Engine, tmp_path: Path, level: str
) -> None:
    """Every cell of the XLSX and Parquet exports, written as CSV text, equals the golden
    CSV's: typed as the Parquet schema says (XLSX cells too), Parquet text unescaped."""
    golden = _golden_rows(f"{level}.csv")
    parquet = _export(campaign, tmp_path / "out.parquet", fmt="parquet", level=level)
    schema, from_parquet = _parquet_rows(parquet)
    xlsx = _export(campaign, tmp_path / "out.xlsx", fmt="xlsx", level=level)
    xlsx_header, *from_xlsx = _xlsx_rows(xlsx)

    assert schema.names == list(xlsx_header) == golden[0]
    kinds = list(schema.types)
    assert len(from_parquet) == len(from_xlsx) == len(golden) - 1
    for expected, in_parquet, in_xlsx in zip(golden[1:], from_parquet, from_xlsx, strict=True):
        assert [_as_csv_text(v, k) for v, k in zip(in_parquet, kinds, strict=True)] == [
            _unescaped(text) if pa.types.is_string(k) else text
            for text, k in zip(expected, kinds, strict=True)
        ]
        # Text with CR LF and lone CR comes back as written (openpyxl writes them as &#13;).
        assert [_as_csv_text(v, k) for v, k in zip(in_xlsx, kinds, strict=True)] == expected
