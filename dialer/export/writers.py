"""File writers for exports. CSV is UTF-8 with a BOM so Excel shows Cyrillic."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from dialer.export.cells import text_cell


def write_csv(
    path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]], *, excel: bool = False
) -> int:
    """Write rows as CSV (``;`` delimited with ``excel``). Returns the number of data rows.

    Every cell goes through ``text_cell``: formula-like text is escaped, phones stay digits.
    """
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";" if excel else ",")
        writer.writerow([text_cell(c) for c in columns])
        for row in rows:
            writer.writerow([text_cell(v) for v in row])
            count += 1
    return count
