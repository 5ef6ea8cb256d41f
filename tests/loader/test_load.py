"""The loader end to end: messy files in, exact counts out, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.engine import session_scope
from dialer.db.models import Campaign, Contact
from dialer.dnc import add_to_dnc
from dialer.errors import ConfigError, InputFileError, NotFoundError
from dialer.loader.load import fields_json_encoder, load_contacts, waiting_note
from dialer.loader.store import ContactWriter, db_timestamp
from dialer.states import CampaignState
from tests.support.factories import make_campaign, make_config, write_csv

# Every kind of damage, one line each, in an Excel-style cp1251 ';' file.
# Physical lines: 1 header, then data; the blank line 8 is skipped and not counted.
EXCEL_CP1251 = (
    "ФИО;Телефон;Номер заказа\r\n"
    "Иванов Иван;+7 (916) 123-45-67;A-1\r\n"  # 2 ok
    "Петрова Анна;8 916 123 45 67;A-2\r\n"  # 3 duplicate of line 2
    "Пустой;;A-3\r\n"  # 4 empty
    "Эксель;7,91612E+10;A-4\r\n"  # 5 scientific notation, digits lost
    "Буквы;позвоните мне;A-5\r\n"  # 6 unparseable
    "Короткий;8 916 12;A-6\r\n"  # 7 invalid
    ";;\r\n"  # 8 blank: skipped, not counted
    "Минск;+375 29 123-45-67;A-7\r\n"  # 9 country not allowed
    "Без заказа;89161234500;\r\n"  # 10 template field empty
    '"Кавычки; и перенос\r\nстроки";8\u00a0916\u00a0765\u00a043\u00a021;A-8\r\n'  # 11-12 ok, NBSP
    "Списан;+7 916 000-00-01;A-9\r\n"  # 13 on the DNC list -> suppressed
    "Короткая строка\r\n"  # 14 the row is short: phone missing -> empty
)
EXPECTED_REJECTS = {
    4: "empty",
    5: "scientific_notation",
    6: "unparseable",
    7: "invalid",
    9: "country_not_allowed",
    10: "template_field_empty",
    14: "empty",
}

UTF8_BOM = (
    "name,phone,order\n"
    "Ann,+79161234567,1\n"
    'Bob,"8 (916) 765-43-21",2\n'
    "Ann again,79161234567,3\n"
    "Formula,=1+2,4\n"
    "Landline,+7 495 123-45-67,5\n"
)


def load(engine: Engine, path: Path, campaign: str = "test"):
    return load_contacts(engine, campaign, path, rejects_path=path.with_suffix(".rejects.csv"))


def read_rejects(path: str | None) -> dict[int, str]:
    assert path is not None
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {int(row["line"]): row["reason"] for row in csv.DictReader(handle)}


def test_excel_cp1251_file_loads_with_exact_counts(engine: Engine, tmp_path: Path) -> None:
    make_campaign(engine, make_config(text="Здравствуйте, {ФИО}! Заказ {Номер заказа}."))
    with session_scope(engine) as session:
        add_to_dnc(session, ["79160000001"], source="cli")
    path = write_csv(tmp_path / "excel.csv", EXCEL_CP1251, "cp1251")

    summary = load(engine, path)

    assert (summary.rows, summary.loaded, summary.rejected) == (11, 2, 7)
    assert (summary.duplicates, summary.suppressed) == (1, 1)
    assert (
        summary.rows == summary.loaded + summary.rejected + summary.duplicates + summary.suppressed
    )
    assert read_rejects(summary.rejects_file) == EXPECTED_REJECTS
    with Session(engine) as session:
        contacts = {c.phone: c for c in session.exec(select(Contact)).all()}
    assert set(contacts) == {"79161234567", "79167654321", "79160000001"}
    assert contacts["79160000001"].status == "suppressed"
    assert contacts["79161234567"].line_no == 2
    assert contacts["79167654321"].line_no == 11
    assert contacts["79161234567"].timezone == "Europe/Moscow"
    assert '"ФИО": "Иванов Иван"' in contacts["79161234567"].fields_json

    again = load(engine, path)
    assert (again.rows, again.loaded, again.duplicates, again.rejected) == (11, 0, 4, 7)


def test_utf8_bom_comma_file(engine: Engine, tmp_path: Path) -> None:
    make_campaign(engine, make_config(channel="sms", text="Hi {name}", caller_id="79587625012"))
    path = write_csv(tmp_path / "bom.csv", UTF8_BOM, "utf-8-sig")

    summary = load(engine, path)

    assert (summary.rows, summary.loaded, summary.rejected, summary.duplicates) == (5, 2, 2, 1)
    assert read_rejects(summary.rejects_file) == {5: "unparseable", 6: "not_mobile"}
    with open(summary.rejects_file or "", encoding="utf-8-sig") as handle:
        assert "'=1+2" in handle.read()  # the raw value is kept, defused for spreadsheets


def test_missing_template_column_fails_before_loading(engine: Engine, tmp_path: Path) -> None:
    make_campaign(engine, make_config(text="Hi {surname}"))
    path = write_csv(tmp_path / "c.csv", "name,phone\nAnn,79161234567\n")
    with pytest.raises(ConfigError, match=r"c.csv: the message uses \{surname\}"):
        load(engine, path)


def test_user_mistakes(sqlite_engine: Engine, tmp_path: Path) -> None:
    make_campaign(sqlite_engine, make_config())
    with pytest.raises(InputFileError, match=r"missing\.csv"):
        load(sqlite_engine, tmp_path / "missing.csv")
    path = write_csv(tmp_path / "c.csv", "name,phone\nAnn,79161234567\n")
    with pytest.raises(NotFoundError, match="unknown campaign 'nope'"):
        load(sqlite_engine, path, campaign="nope")
    no_phone = write_csv(tmp_path / "n.csv", "name,email\nAnn,a@b.c\n")
    with pytest.raises(InputFileError, match="no phone column"):
        load(sqlite_engine, no_phone)


def test_phone_column_option_and_cyrillic_header(sqlite_engine: Engine, tmp_path: Path) -> None:
    make_campaign(sqlite_engine, make_config(text="{Имя}"))
    path = write_csv(tmp_path / "c.csv", "Имя;Контакт\nАнна;89161234567\n", "cp1251")
    summary = load_contacts(sqlite_engine, "test", path, phone_column="контакт")
    assert summary.loaded == 1


def _stored(engine: Engine, campaign_id: int) -> dict[str, tuple[object, ...]]:
    with Session(engine) as session:
        contacts = session.exec(select(Contact).where(Contact.campaign_id == campaign_id)).all()
    return {
        c.phone: (
            c.status,
            c.reason,
            c.next_attempt_at,
            c.timezone,
            c.timezones,
            c.region,
            c.line_no,
            c.fields_json,
        )
        for c in contacts
    }


def test_batch_size_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    text = "Здравствуйте, {ФИО}! Заказ {Номер заказа}."
    whole = make_campaign(engine, make_config(name="whole", text=text))
    split = make_campaign(engine, make_config(name="split", text=text))
    with session_scope(engine) as session:
        add_to_dnc(session, ["79160000001", "79161234567"], source="cli")
    path = write_csv(tmp_path / "excel.csv", EXCEL_CP1251, "cp1251")
    now = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)

    one = load_contacts(engine, "whole", path, now=now)
    many = load_contacts(engine, "split", path, now=now, batch_size=1)

    assert (many.loaded, many.suppressed) == (one.loaded, one.suppressed) == (1, 2)
    assert _stored(engine, split) == _stored(engine, whole)
    assert _stored(engine, whole)["79161234567"][:3] == (
        "suppressed",
        "on the do-not-call list",
        None,
    )


@pytest.mark.parametrize("batch_size", [2, 10])
def test_numbers_a_concurrent_load_stored_first_are_duplicates(
    engine: Engine, tmp_path: Path, batch_size: int
) -> None:
    """Another load of the campaign stores a number after this load read the campaign's
    numbers: the unique constraint refuses the batch, which goes in again row by row, the
    clashing number counted as a duplicate instead of failing the load."""
    campaign_id = make_campaign(engine, make_config(text="Hi {name}"))
    with session_scope(engine) as session:
        add_to_dnc(session, ["79160000003"], source="cli")
    stamp = db_timestamp(engine, datetime(2026, 11, 2, tzinfo=UTC))

    def row(phone: str, line: int) -> tuple[object, ...]:
        return (
            campaign_id,
            phone,
            "pending",
            None,
            0,
            0,
            stamp,
            "Europe/Moscow",
            "",
            "RU",
            line,
            "{}",
            stamp,
        )

    with ContactWriter(engine, batch_size) as first:
        first.add(row("79161234567", 1))
        first.finish()
    with ContactWriter(engine, batch_size) as second:  # it did not see the first one's number
        for line, phone in enumerate(("79160000001", "79161234567", "79160000003"), start=1):
            second.add(row(phone, line))
        second.finish()

    assert (second.inserted, second.suppressed, second.conflicts) == (2, 1, 1)
    stored = _stored(engine, campaign_id)
    assert set(stored) == {"79161234567", "79160000001", "79160000003"}
    assert stored["79160000003"][0] == "suppressed"


def test_two_loads_of_one_file_at_once_account_for_every_row(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_id = make_campaign(engine, make_config(text="Hi {name}"))
    rows = "".join(f"n{i},7916{i:07d}\n" for i in range(3000))
    path = write_csv(tmp_path / "c.csv", "name,phone\n" + rows)
    with ThreadPoolExecutor(2) as pool:
        summaries = list(
            pool.map(lambda _: load_contacts(engine, "test", path, batch_size=100), range(2))
        )
    for summary in summaries:
        assert summary.rows == summary.loaded + summary.duplicates == 3000
    assert sum(summary.loaded for summary in summaries) == 3000
    assert len(_stored(engine, campaign_id)) == 3000


@pytest.mark.parametrize(
    ("header", "values"),
    [
        (["ФИО", "Телефон"], ["Иванов Иван", "+7 916 123-45-67"]),
        (["a", "b"], ['"quoted"', "back\\slash"]),
        (["a", "b"], ["line\r\nbreak\ttab\x00nul\x1f", "\u2028\u2029\ud800 \U0001f600"]),
        (["100%", "{x}", '"', "%s"], ["%d", "%%", "{}", "\\u0041"]),
        (["a", "b", "c"], ["one", "two"]),  # shorter than the header
        (["a", "b"], ["one", "two", "three"]),  # longer
        (["a", "a"], ["first", "second"]),  # a repeated name: the last value wins
        ([], []),
    ],
)
def test_fields_json_is_exactly_what_json_dumps_writes(
    header: list[str], values: list[str]
) -> None:
    expected = json.dumps(dict(zip(header, values, strict=False)), ensure_ascii=False)
    assert fields_json_encoder(header)(values) == expected


def test_a_file_failing_midway_keeps_the_full_batches_before(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_id = make_campaign(engine, make_config(text="Hi {name}"))
    unclosed_quote = 'Dan,"' + "x" * (csv.field_size_limit() + 1) + "\n"
    path = write_csv(
        tmp_path / "c.csv",
        "name,phone\nAnn,79161234567\nBob,79167654321\nCid,79160000002\n" + unclosed_quote,
    )
    with pytest.raises(InputFileError, match="longer than"):
        load_contacts(engine, "test", path, batch_size=2)
    # Ann and Bob made a full batch; Cid's batch never filled.
    assert set(_stored(engine, campaign_id)) == {"79161234567", "79167654321"}


@pytest.mark.parametrize(
    ("state", "loaded", "expected"),
    [
        ("draft", 3, None),
        ("running", 3, None),
        ("completed", 0, None),
        (
            "completed",
            3,
            "campaign 'c' is completed: the 3 new contacts wait until you start it again "
            "(dialer campaign start c)",
        ),
        (
            "paused",
            2,
            "campaign 'c' is paused: the 2 new contacts wait until you resume it "
            "(dialer campaign resume c)",
        ),
    ],
)
def test_the_load_says_when_new_contacts_will_wait(
    state: str, loaded: int, expected: str | None
) -> None:
    assert waiting_note("c", CampaignState(state), loaded) == expected


def test_loading_into_a_completed_campaign_says_so(engine: Engine, tmp_path: Path) -> None:
    campaign_id = make_campaign(engine, make_config(text="Hi"))
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.state = "completed"
    summary = load_contacts(engine, "test", write_csv(tmp_path / "c.csv", "phone\n79161234567\n"))
    assert summary.loaded == 1
    assert summary.as_dict()["warning"] == (
        "campaign 'test' is completed: the 1 new contacts wait until you start it again "
        "(dialer campaign start test)"
    )
