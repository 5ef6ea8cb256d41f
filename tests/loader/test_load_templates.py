from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.engine import Engine

from dialer.loader.load import load_contacts
from tests.support.factories import make_campaign, make_config, write_csv


def test_template_field_missing_or_empty_rejects_the_row(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    make_campaign(sqlite_engine, make_config(text="{ФИО}, заказ {Номер заказа}"))
    path = write_csv(
        tmp_path / "t.csv",
        "Телефон;ФИО;номер  заказа\n"  # matched ignoring case and spaces, as in the template
        "89161234567;Анна;A-1\n"
        "89161234568;Борис\n"  # short row: the order column is missing
        "89161234569;;A-3\n",  # empty name
        "cp1251",
    )
    summary = load_contacts(sqlite_engine, "test", path)
    assert (summary.rows, summary.loaded, summary.rejected) == (3, 1, 2)
    with open(summary.rejects_file or "", encoding="utf-8-sig", newline="") as handle:
        rows = {int(r["line"]): (r["reason"], r["detail"]) for r in csv.DictReader(handle)}
    assert rows == {
        3: ("template_field_missing", "no value for {Номер заказа}"),
        4: ("template_field_empty", "{ФИО} is empty"),
    }
