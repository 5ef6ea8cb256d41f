"""Incremental exports: consecutive ``--since`` exports cover every change once."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact
from dialer.errors import UserError
from dialer.export.cursor import SETTLE, export_window, format_cursor, parse_cursor
from dialer.export.run import export_campaign
from dialer.loader.load import load_contacts
from tests.support.factories import make_campaign, make_config, write_csv

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PHONES = ("79161230001", "79161230002", "79161230003")


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    campaign_id = make_campaign(engine, make_config(text="Hi {name}"))
    rows = "".join(f"n{i},{phone}\n" for i, phone in enumerate(PHONES))
    load_contacts(engine, "test", write_csv(tmp_path / "c.csv", "name,phone\n" + rows))
    with session_scope(engine) as session:
        session.execute(
            update(Contact).where(col(Contact.campaign_id) == campaign_id).values(updated_at=T0)
        )
    return engine


def _attempt(engine: Engine, phone: str, at: datetime) -> int:
    with session_scope(engine) as session:
        contact = session.exec(select(Contact).where(Contact.phone == phone)).one()
        attempt = Attempt(
            campaign_id=contact.campaign_id,
            contact_id=contact.id or 0,
            channel="tts",
            status="finished",
            outcome="reached",
            number=phone,
            created_at=at,
            updated_at=at,
        )
        session.add(attempt)
        session.flush()
        return attempt.id or 0


def _touch(engine: Engine, attempt_id: int, at: datetime, **values: object) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(Attempt).where(col(Attempt.id) == attempt_id).values(updated_at=at, **values)
        )


def _export(engine: Engine, out: Path, cursor: str | None, now: datetime) -> tuple[list[str], str]:
    result = export_campaign(
        engine,
        "test",
        out,
        fmt="csv",
        level="attempts",
        since=parse_cursor(cursor) if cursor else None,
        now=now,
    )
    with out.open(encoding="utf-8-sig", newline="") as handle:
        ids = [row["attempt_id"] for row in csv.DictReader(handle)]
    assert len(ids) == result.rows
    return ids, result.cursor


def test_consecutive_exports_hold_each_change_once(loaded: Engine, tmp_path: Path) -> None:
    first = _attempt(loaded, PHONES[0], T0)
    second = _attempt(loaded, PHONES[1], T0 + timedelta(minutes=1))

    ids, cursor = _export(loaded, tmp_path / "full.csv", None, T0 + timedelta(minutes=2))
    assert ids == [str(first), str(second)]
    assert cursor == format_cursor(T0 + timedelta(minutes=2) - SETTLE)

    # Nothing changed: empty, and the cursor moves on.
    ids, cursor = _export(loaded, tmp_path / "1.csv", cursor, T0 + timedelta(minutes=3))
    assert ids == []
    assert cursor == format_cursor(T0 + timedelta(minutes=3) - SETTLE)

    # A late event updates the second attempt; a third contact is dialled.
    _touch(loaded, second, T0 + timedelta(minutes=4), duration=17)
    third = _attempt(loaded, PHONES[2], T0 + timedelta(minutes=4, seconds=30))
    ids, cursor = _export(loaded, tmp_path / "2.csv", cursor, T0 + timedelta(minutes=5))
    assert ids == [str(second), str(third)]
    with (tmp_path / "2.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert next(csv.DictReader(handle))["duration"] == "17"

    ids, _ = _export(loaded, tmp_path / "3.csv", cursor, T0 + timedelta(minutes=6))
    assert ids == []


def test_a_change_committed_after_an_export_began_is_in_the_next_one(
    loaded: Engine, tmp_path: Path
) -> None:
    """A transaction stamps ``updated_at`` before it commits. An export that starts between
    the stamp and the commit cannot see the row; the settle margin keeps it for the next."""
    stamped = T0 + timedelta(minutes=1)
    ids, cursor = _export(loaded, tmp_path / "1.csv", None, stamped + timedelta(seconds=2))
    assert ids == []
    late = _attempt(loaded, PHONES[0], stamped)  # commits only now
    ids, _ = _export(loaded, tmp_path / "2.csv", cursor, stamped + timedelta(minutes=1))
    assert ids == [str(late)]


def test_changes_inside_the_settle_margin_wait_for_the_next_export(
    loaded: Engine, tmp_path: Path
) -> None:
    now = T0 + timedelta(minutes=10)
    fresh = _attempt(loaded, PHONES[0], now - SETTLE / 2)
    ids, cursor = _export(loaded, tmp_path / "1.csv", format_cursor(T0), now)
    assert ids == []
    ids, _ = _export(loaded, tmp_path / "2.csv", cursor, now + SETTLE)
    assert ids == [str(fresh)]


def test_contacts_level_since(loaded: Engine, tmp_path: Path) -> None:
    with session_scope(loaded) as session:
        session.execute(
            update(Contact)
            .where(col(Contact.phone) == PHONES[1])
            .values(status="reached", updated_at=T0 + timedelta(minutes=5))
        )
    result = export_campaign(
        loaded,
        "test",
        tmp_path / "c.csv",
        fmt="csv",
        level="contacts",
        since=T0 + timedelta(minutes=1),
        now=T0 + timedelta(minutes=6),
    )
    with (tmp_path / "c.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert result.rows == 1
    assert [(r["phone"], r["status"], r["name"]) for r in rows] == [(PHONES[1], "reached", "n1")]


def test_a_cursor_never_moves_backwards() -> None:
    since = T0 + timedelta(minutes=1)
    window = export_window(since, since + SETTLE / 2)
    assert window.until == since
    assert window.cursor == format_cursor(since)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-02T09:00:00.000000Z", T0),
        ("2026-11-02T12:00:00+03:00", T0),
        ("2026-11-02 09:00", T0),
        ("2026-11-02", T0 - timedelta(hours=9)),
    ],
)
def test_cursor_forms(text: str, moment: datetime) -> None:
    assert parse_cursor(text) == moment


def test_a_bad_cursor_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"--since: 'yesterday' is not a cursor"):
        parse_cursor("yesterday")
