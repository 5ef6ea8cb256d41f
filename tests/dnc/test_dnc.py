"""The do-not-call list: importing only files of numbers, listing what was skipped, taking
numbers off again with a reason, and the audit trail of both."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.engine import session_scope
from dialer.db.models import Contact, DncEntry
from dialer.dnc import add_to_dnc, dnc_history, remove_from_dnc
from dialer.dnc_input import read_dnc_file
from dialer.errors import UserError
from dialer.loader.load import load_contacts
from tests.support.factories import make_campaign, make_config, write_csv

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"


def rejects(path: str | None) -> dict[int, str]:
    assert path is not None
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {int(row["line"]): row["value"] for row in csv.DictReader(handle)}


def test_a_campaign_file_is_refused_whole_and_its_lines_listed(tmp_path: Path) -> None:
    """``dnc import order-ready.toml``: its caller ID and operator number are not opt-outs."""
    wrong = Path(shutil.copy(CAMPAIGNS / "order-ready.toml", tmp_path / "order-ready.toml"))
    with pytest.raises(UserError) as caught:
        read_dnc_file(wrong, None)
    message = str(caught.value)
    assert message.startswith(f"{wrong}: only 2 of ")
    assert "lines hold a phone number; is this the right file? nothing was added" in message
    listed = rejects(str(tmp_path / "order-ready.dnc-rejects.csv"))
    assert len(listed) > 30
    assert min(listed) == 1  # no phone header: the first line is data too


@pytest.mark.parametrize(
    ("text", "numbers", "rejected_lines"),
    [
        ("phone\n79161234567\n89161234568\n", ["79161234567", "79161234568"], []),
        ("телефон\n8 916 123 45 67\nnot a number\n", ["79161234567"], [3]),  # half: taken
        ("79161234567\n+7 916 123-45-68\n\n", ["79161234567", "79161234568"], []),  # no header
        ("79161234567\nпозвоните\n", ["79161234567"], [2]),
    ],
)
def test_files_mostly_of_numbers_are_read_with_their_rejects(
    tmp_path: Path, text: str, numbers: list[str], rejected_lines: list[int]
) -> None:
    read = read_dnc_file(write_csv(tmp_path / "d.csv", text), None)
    assert read.numbers == numbers
    assert read.rejected == len(rejected_lines)
    if rejected_lines:
        assert sorted(rejects(read.rejects_file)) == rejected_lines
    else:
        assert read.rejects_file is None


@pytest.mark.parametrize(
    "text",
    ["phone\n79161234567\nx\ny\n", "name,phone\nАнна,\nБорис,нет\n", "just text\nmore\n"],
)
def test_files_mostly_not_numbers_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(UserError, match="is this the right file"):
        read_dnc_file(write_csv(tmp_path / "d.csv", text), None)


def test_remove_takes_numbers_off_and_both_changes_are_audited(
    engine: Engine, tmp_path: Path
) -> None:
    make_campaign(engine, make_config(text="Hi"))
    with session_scope(engine) as session:
        add_to_dnc(session, ["79161234567", "79161234568"], source="cli", reason="asked")
    with session_scope(engine) as session:
        removed = remove_from_dnc(session, ["79161234567", "79990000000"], reason="ticket 42")
    assert removed == ["79161234567"]
    with Session(engine) as session:
        assert session.exec(select(DncEntry.phone)).all() == ["79161234568"]
        trail = [(c.action, c.phone, c.source, c.reason) for c in dnc_history(session)]
        one = [c.action for c in dnc_history(session, "79161234567")]
    assert trail == [
        ("add", "79161234567", "cli", "asked"),
        ("add", "79161234568", "cli", "asked"),
        ("remove", "79161234567", "cli", "ticket 42"),
    ]
    assert one == ["add", "remove"]
    # A removed number loads as an ordinary contact; a listed one is still suppressed.
    load_contacts(
        engine, "test", write_csv(tmp_path / "c.csv", "phone\n79161234567\n79161234568\n")
    )
    with Session(engine) as session:
        statuses = {c.phone: c.status for c in session.exec(select(Contact))}
    assert statuses == {"79161234567": "pending", "79161234568": "suppressed"}


def test_adding_a_listed_number_again_is_not_audited_twice(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert add_to_dnc(session, ["79161234567"], source="cli") == 1
        assert add_to_dnc(session, ["79161234567"], source="import") == 0
    with Session(engine) as session:
        assert [c.source for c in dnc_history(session)] == ["cli"]
