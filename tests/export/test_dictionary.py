"""docs/export.md documents every export column, in order, with its Parquet type."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dialer.export.attempts import ATTEMPT_COLUMNS
from dialer.export.contacts import CONTACT_COLUMNS
from dialer.export.writers import write_parquet

DICTIONARY = Path(__file__).parents[2] / "docs" / "export.md"
LEVELS = {"Contacts level": CONTACT_COLUMNS, "Attempts level": ATTEMPT_COLUMNS}


def _section(text: str, heading: str) -> list[str]:
    """The lines under ``## heading``, up to the next ``## `` heading."""
    lines = text.splitlines()
    start = lines.index(f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def _tables(lines: list[str]) -> list[list[list[str]]]:
    """Each markdown table in ``lines`` as its body rows of cells (header and rule dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in lines:
        if not line.startswith("|"):
            current = None
            continue
        if current is None:
            current = []
            tables.append(current)
        current.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return [table[2:] for table in tables]


def documented(heading: str) -> list[tuple[str, str]]:
    """``(column, Parquet type)`` for each row of the section's one table."""
    tables = _tables(_section(DICTIONARY.read_text(encoding="utf-8"), heading))
    assert len(tables) == 1, f"{heading}: expected one table, found {len(tables)}"
    rows = []
    for cells in tables[0]:
        assert len(cells) == 4, f"{heading}: row is not `| column | type | meaning | example |`"
        name = cells[0]
        assert name[:1] + name[-1:] == "``", f"{heading}: {name} not in backticks"
        rows.append((name.strip("`"), cells[1].rsplit("/", 1)[-1].strip()))
    return rows


@pytest.mark.parametrize("heading", list(LEVELS))
def test_every_column_is_documented_in_order(heading: str) -> None:
    names = [name for name, _ in documented(heading)]
    columns = LEVELS[heading]
    assert set(columns) - set(names) == set(), "in the export, not in docs/export.md"
    assert set(names) - set(columns) == set(), "in docs/export.md, not in the export"
    assert tuple(names) == columns


@pytest.mark.parametrize("heading", list(LEVELS))
def test_documented_parquet_types_are_the_written_ones(heading: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    write_parquet(path, LEVELS[heading], [])
    schema = pq.read_schema(path)
    assert documented(heading) == [(field.name, str(field.type)) for field in schema]
