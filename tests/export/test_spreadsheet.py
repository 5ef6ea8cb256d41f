"""A CSV export opened in a real spreadsheet evaluates nothing from user data.

LibreOffice Calc (headless, from ``bin/system-deps``) imports the export with formula
evaluation on, the most dangerous setting, and saves what it understood as XLSX. No cell of
the export may come back as a formula, and every text cell must read as the CSV wrote it. The
same import of the contacts' own file is the control: it does evaluate its formulas, so the
check can fail. Without LibreOffice the test skips locally and fails under ``CI=true``.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from dialer.export.run import export_campaign
from dialer.loader.load import load_contacts
from tests.support.factories import make_campaign, make_config, write_csv
from tests.support.services import service_missing

CONTACTS = (
    "name,phone,note,amount\n"
    '=1+2,79161234501,"=HYPERLINK(""http://x.test"",""click"")",+5\n'
    "@SUM(1;2),79161234502,-3+4,=A1*10\n"
    '"\t=1+1",79161234503,Тула,"\r\n=2*3"\n'
    "Анна,79161234504,+7 916 123-45-04,0012\n"
)
# Field separator, text delimiter, UTF-8, from line 1, all columns "standard", default
# language, quoted fields not forced to text, special numbers detected, (3 export-only
# tokens), no space trimming, (1 export-only token), evaluate formulas: on.
IMPORT_FILTER = "CSV:44,34,76,1,,0,false,true,false,false,false,false,true"


def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        service_missing("LibreOffice (bin/system-deps installs it)", FileNotFoundError("soffice"))
    assert path is not None
    return path


def open_in_calc(path: Path, out_dir: Path) -> list[list[tuple[str, object]]]:
    """Import ``path`` into Calc and save it as XLSX; each cell as (openpyxl data type, value),
    formulas kept as formulas (``data_type`` ``f``)."""
    profile = out_dir / "profile"
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            f"--infilter={IMPORT_FILTER}",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out_dir),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(out_dir)},
    )
    book = load_workbook(out_dir / f"{path.stem}.xlsx")
    try:
        sheet = book.active
        assert sheet is not None
        return [[(cell.data_type, cell.value) for cell in row] for row in sheet.iter_rows()]
    finally:
        book.close()


@pytest.fixture
def exported(sqlite_engine: Engine, tmp_path: Path) -> tuple[Path, Path]:
    """The contacts' file and its contacts-level CSV export."""
    make_campaign(sqlite_engine, make_config(text="Hi {name}"))
    source = write_csv(tmp_path / "contacts.csv", CONTACTS)
    load_contacts(sqlite_engine, "test", source)
    out = tmp_path / "export.csv"
    export_campaign(sqlite_engine, "test", out, fmt="csv", level="contacts")
    return source, out


@pytest.mark.timeout(300)
def test_calc_evaluates_no_cell_of_the_export(exported: tuple[Path, Path], tmp_path: Path) -> None:
    source, out = exported
    control = open_in_calc(source, tmp_path / "control")
    assert any(kind == "f" for row in control for kind, _ in row), "the control must evaluate"

    cells = open_in_calc(out, tmp_path / "export")
    formulas = [value for row in cells for kind, value in row if kind == "f"]
    assert formulas == []
    with out.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    header = written[0]
    for row_cells, row_text in zip(cells[1:], written[1:], strict=True):
        by_name = dict(zip(header, row_cells, strict=False))
        for name in ("name", "note", "amount"):
            kind, value = by_name[name]
            expected = row_text[header.index(name)].replace("\r\n", "\n")  # Calc's line ends
            if expected.startswith("'"):  # defused: Calc must read it as this very text
                assert (kind, value) == ("s", expected), (name, expected)
        assert by_name["phone"][1] in (row_text[1], int(row_text[1]))  # digits, never altered
