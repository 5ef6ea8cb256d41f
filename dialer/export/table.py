"""What every export level produces: a header and a stream of plain row tuples."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.sql import Executable
from sqlmodel import col

from dialer.db.models import Attempt, Contact
from dialer.export.cursor import Window

Value = str | int | datetime | None


@dataclass(frozen=True)
class ExportTable:
    """The header and a row iterator; the last ``len(extra_columns)`` columns are a contact's
    original CSV columns (always text, whatever their names)."""

    columns: tuple[str, ...]
    extra_columns: tuple[str, ...]
    rows: Iterator[tuple[Value, ...]]


def changed_in(table: type[Contact] | type[Attempt], window: Window | None) -> list[Any]:
    """WHERE terms for rows whose ``updated_at`` falls in the window (none: every row)."""
    if window is None:
        return []
    terms = [col(table.updated_at) <= window.until]
    if window.since is not None:
        terms.append(col(table.updated_at) > window.since)
    return terms


def stream_rows(engine: Engine, statement: Executable, batch: int) -> Iterator[Sequence[Any]]:
    """The statement's rows as plain tuples, ``batch`` at a time (a server-side cursor on
    PostgreSQL): columns, not ORM objects, so memory stays bounded and no per-row object is
    built."""
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=batch).execute(statement)
        for partition in result.partitions():
            yield from partition
