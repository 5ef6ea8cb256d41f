"""The rejects file: every input line that was not taken, with its line number and why."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import IO, Any

from dialer.errors import InputFileError


class RejectsFile:
    """A rejects CSV (line, value, reason, detail), created on the first rejected line;
    values that a spreadsheet would evaluate are escaped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.reasons: Counter[str] = Counter()
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def add(self, line_no: int, value: str, reason: str, detail: str) -> None:
        if self._handle is None:
            try:
                self._handle = self.path.open("w", encoding="utf-8-sig", newline="")
            except OSError as exc:
                raise InputFileError(
                    f"{self.path}: cannot write the rejects file: {exc.strerror}"
                ) from None
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "value", "reason", "detail"])
        self._writer.writerow([line_no, _safe(value), reason, detail])
        self.count += 1
        self.reasons[reason] += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _safe(value: str) -> str:
    from dialer.export.cells import escape_formula

    return escape_formula(value)
